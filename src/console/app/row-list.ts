import { clear, h, removeRowButton, type Child } from './dom.js';
import type { FormErrors } from './form-errors.js';

/** What a form's editable rows are made of; see `rowList`. */
export interface RowListOptions<T> {
  /** Where the rows and the add button go. */
  host: HTMLElement;
  /** The rows' items, changed in place by the × and the add button. */
  items: T[];
  /** Names the rows: `route` gives each the class route-row, testids route-0 and route-remove-0, and add-route. */
  noun: string;
  /** A row's controls, and what goes under them (its error). */
  row: (item: T, i: number) => { cells: Child[]; under?: Child };
  /** The item the add button appends. */
  create: () => T;
  addLabel: string;
  addDisabled?: boolean;
  /** The testid of the control of a new row that takes the focus. */
  focusOnAdd?: (i: number) => string;
  /** Where the rows' problems show, and their field path (`routes`): the old rows' go when they are drawn again. */
  errors: FormErrors;
  path: string;
  /** After a row was removed (the form checks itself again). */
  removed?: () => void;
}

/**
 * A form's editable rows (an API's routes, a stage's overrides and variables, an alias's rules): each row's
 * controls and a × that removes it, an add button under them; the rows are drawn again after either.
 * Returns the function that draws them.
 */
export function rowList<T>(options: RowListOptions<T>): () => void {
  const { host, items, noun } = options;
  const draw = (): void => {
    options.errors.forget(`${options.path}[`);
    clear(
      host,
      items.map((item, i) => {
        const { cells, under } = options.row(item, i);
        return h(
          'div',
          { class: `${noun}-row`, testid: `${noun}-${i}` },
          cells,
          removeRowButton(`Remove ${noun} ${i + 1}`, `${noun}-remove-${i}`, () => {
            items.splice(i, 1);
            draw();
            options.removed?.();
          }),
          under,
        );
      }),
      h(
        'button',
        {
          class: 'btn btn-small',
          type: 'button',
          testid: `add-${noun}`,
          disabled: options.addDisabled,
          onClick: () => {
            items.push(options.create());
            draw();
            const focus = options.focusOnAdd?.(items.length - 1);
            if (focus) host.querySelector<HTMLElement>(`[data-testid="${focus}"]`)?.focus();
          },
        },
        options.addLabel,
      ),
    );
  };
  return draw;
}

/** The fields of T that hold strings. */
type TextKey<T> = { [K in keyof T]: T[K] extends string ? K : never }[keyof T];

/** A row's text field bound to one field of its item: what is typed (through `read`) goes there, then `changed`. */
export function rowInput<T>(
  item: T,
  key: TextKey<T>,
  attrs: { testid: string; label: string; placeholder: string },
  changed: () => void,
  read: (text: string) => string = (text) => text,
): HTMLInputElement {
  const fields = item as Record<TextKey<T>, string>;
  const input = h('input', {
    class: 'input mono',
    testid: attrs.testid,
    value: fields[key],
    placeholder: attrs.placeholder,
    'aria-label': attrs.label,
    spellcheck: 'false',
  });
  input.addEventListener('input', () => {
    fields[key] = read(input.value);
    changed();
  });
  return input;
}

/** A row's choice bound to one field of its item: the chosen value goes there, then `changed`. */
export function rowSelect<T>(
  item: T,
  key: TextKey<T>,
  choices: readonly string[],
  attrs: { testid: string; label: string; mono?: boolean; text?: (choice: string) => string },
  changed: () => void,
): HTMLSelectElement {
  const fields = item as Record<TextKey<T>, string>;
  const select = h(
    'select',
    { class: attrs.mono ? 'input mono' : 'input', testid: attrs.testid, 'aria-label': attrs.label },
    choices.map((c) => h('option', { value: c, selected: c === fields[key] }, attrs.text?.(c) ?? c)),
  );
  select.addEventListener('change', () => {
    fields[key] = select.value;
    changed();
  });
  return select;
}
