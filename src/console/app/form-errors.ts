import { ApiError, type FieldIssue } from './api.js';
import { clear, errorBox, fieldError, h } from './dom.js';

type FieldErrorElement = ReturnType<typeof fieldError>;

/**
 * A form's problems where the user looks for them: each field path's message under its field, those of no
 * field in a banner. `show` replaces everything shown before, so a message goes once its field is fixed.
 */
export class FormErrors {
  private readonly fields = new Map<string, FieldErrorElement>();
  /** Problems of no field on screen (or the server's error): place it at the foot of the form. */
  readonly banner: HTMLElement;

  constructor(private readonly bannerTestid: string) {
    this.banner = h('div', { testid: `${bannerTestid}-area` });
  }

  /** The message element of a field path (`steps`, `routes[2].path`), testid `error-<path>` unless given. */
  at(path: string, testid = `error-${path}`): FieldErrorElement {
    const el = fieldError(testid);
    this.fields.set(path, el);
    return el;
  }

  /** Forgets the fields whose path starts so (rows that are drawn again). */
  forget(prefix: string): void {
    for (const key of [...this.fields.keys()]) if (key.startsWith(prefix)) this.fields.delete(key);
  }

  /**
   * Shows these issues and nothing else. An issue of a path without a field of its own goes under the nearest
   * field above it (`steps[1]` under `steps`), else in the banner.
   */
  show(issues: readonly FieldIssue[]): void {
    const placed = new Map<string, string[]>();
    const unplaced: FieldIssue[] = [];
    for (const issue of issues) {
      const path = this.fieldOf(issue.path);
      if (path === undefined) unplaced.push(issue);
      else placed.set(path, [...(placed.get(path) ?? []), this.text(issue, path)]);
    }
    for (const [path, el] of this.fields) el.set(placed.get(path)?.join('; '));
    clear(
      this.banner,
      unplaced.length > 0 &&
        h(
          'div',
          { class: 'alert alert-error', role: 'alert', testid: this.bannerTestid },
          unplaced.map((i) => h('div', null, i.path ? `${i.path}: ${i.message}` : i.message)),
        ),
    );
  }

  /** Shows an error that is not about fields (a conflict, the server gone) in the banner. */
  showError(node: Node): void {
    for (const el of this.fields.values()) el.set(undefined);
    clear(this.banner, node);
  }

  /**
   * Shows why a save failed: the server's issues under their fields; else those `issuesOf` finds in a refusal
   * the form knows (a name taken: under the name); else the error in the banner, with this testid.
   */
  showFailure(
    error: unknown,
    testid: string,
    issuesOf: (error: ApiError) => FieldIssue[] | undefined = () => undefined,
  ): void {
    const issues =
      error instanceof ApiError ? (error.issues.length ? error.issues : issuesOf(error)) : undefined;
    if (issues) this.show(issues);
    else this.showError(errorBox(error, undefined, testid));
  }

  clear(): void {
    this.show([]);
  }

  /** Whether any field shows a problem (the first such control then takes the focus). */
  focusFirst(container: HTMLElement): boolean {
    const invalid = container.querySelector<HTMLElement>('[aria-invalid="true"]');
    invalid?.focus();
    return invalid !== null || this.banner.childElementCount > 0;
  }

  private fieldOf(path: string): string | undefined {
    for (let p = path; p; p = p.replace(/(\[[^\]]*\]|\.[^.[]*)$/, '')) {
      if (this.fields.has(p)) return p;
      if (!/[.[]/.test(p)) break;
    }
    return undefined;
  }

  private text(issue: FieldIssue, field: string): string {
    return issue.path === field
      ? issue.message
      : `${issue.path.slice(field.length).replace(/^\./, '')} ${issue.message}`;
  }
}
