import { editorState, type EditorState, type EditorView } from './editor.js';
import { handlerFile } from './samples.js';
import { textFile, writeZip, type CodeFile } from './zip.js';

/** The files of one code package in the editor: one editor state (text and undo history) per file. */
export class CodeDraft {
  readonly states = new Map<string, EditorState>();
  private baseline = new Map<string, string | undefined>();
  active: string;
  view: EditorView | undefined;
  private listeners = new Set<() => void>();

  constructor(
    public files: CodeFile[],
    /** The code digest the files came from ($LATEST's when loaded or last deployed). */
    public sha: string,
    readonly readOnly: boolean,
    private readonly onSave?: () => void,
  ) {
    this.active = this.pickActive();
    this.resetBaseline();
  }

  private pickActive(handlerFile?: string): string {
    const text = this.files.filter((f) => f.text !== undefined);
    return (
      (handlerFile && this.files.find((f) => f.path === handlerFile)?.path) ??
      text[0]?.path ??
      this.files[0]?.path ??
      ''
    );
  }

  openHandler(handler: string, runtime: string): void {
    const file = handlerFile(handler, runtime);
    if (this.files.some((f) => f.path === file)) this.active = file;
  }

  private resetBaseline(): void {
    this.baseline = new Map(this.files.map((f) => [f.path, f.text]));
  }

  stateFor(path: string): EditorState | undefined {
    const file = this.files.find((f) => f.path === path);
    if (file?.text === undefined) return undefined;
    let state = this.states.get(path);
    if (!state) {
      state = editorState({
        doc: file.text,
        path,
        readOnly: this.readOnly,
        onChange: () => {
          this.changed();
        },
        ...(this.onSave && { onSave: this.onSave }),
      });
      this.states.set(path, state);
    }
    return state;
  }

  /** The text of a file as it is now in the editor. */
  textOf(file: CodeFile): string | undefined {
    if (this.view && file.path === this.active) return this.view.state.doc.toString();
    return this.states.get(file.path)?.doc.toString() ?? file.text;
  }

  isModified(path: string): boolean {
    const file = this.files.find((f) => f.path === path);
    if (!file) return false;
    if (!this.baseline.has(path)) return true;
    return this.textOf(file) !== this.baseline.get(path);
  }

  dirty(): boolean {
    if (this.readOnly) return false;
    if (this.files.length !== this.baseline.size) return true;
    return this.files.some((f) => this.isModified(f.path));
  }

  markClean(): void {
    this.files = this.files.map((f) => ({ ...f, text: this.textOf(f) }));
    this.resetBaseline();
    this.changed();
  }

  zip(): Uint8Array {
    return writeZip(this.files.map((f) => ({ ...f, text: this.textOf(f) })));
  }

  /** Keeps the current file's editor state before its view goes. */
  saveView(): void {
    if (this.view) this.states.set(this.active, this.view.state);
  }

  open(path: string): void {
    this.saveView();
    this.active = path;
    this.changed();
  }

  addFile(path: string, text = ''): void {
    this.files = [...this.files, textFile(path, text)].sort((a, b) => a.path.localeCompare(b.path));
    this.open(path);
  }

  removeFile(path: string): void {
    this.saveView();
    this.files = this.files.filter((f) => f.path !== path);
    this.states.delete(path);
    if (this.active === path) this.active = this.pickActive();
    this.changed();
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }

  destroy(): void {
    this.view?.destroy();
    this.view = undefined;
    this.listeners.clear();
  }
}
