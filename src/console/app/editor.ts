import { javascript } from '@codemirror/lang-javascript';
import { json } from '@codemirror/lang-json';
import { python } from '@codemirror/lang-python';
import { MergeView } from '@codemirror/merge';
import { indentWithTab } from '@codemirror/commands';
import { indentUnit } from '@codemirror/language';
import { EditorState, Prec, type Extension } from '@codemirror/state';
import { keymap } from '@codemirror/view';
import { basicSetup, EditorView } from 'codemirror';

/** The language of a file by its extension, or by its `#!` line (a custom runtime's `bootstrap`). */
function languageOf(path: string, doc: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  const dot = name.lastIndexOf('.');
  if (dot > 0) return name.slice(dot + 1);
  const interpreter = /^#!\S*?(?:\/env\s+)?\S*?(python|node)/.exec(doc)?.[1];
  return interpreter === 'python' ? 'py' : interpreter === 'node' ? 'js' : '';
}

/** The language support for a file. */
export function languageFor(path: string, doc = ''): Extension {
  const ext = languageOf(path, doc);
  if (['js', 'mjs', 'cjs'].includes(ext)) return javascript();
  if (ext === 'ts' || ext === 'mts') return javascript({ typescript: true });
  if (ext === 'py') return python();
  if (ext === 'json') return json();
  return [];
}

/**
 * The indentation a new line gets: the file's own, where it has indented lines (a Python block indented two
 * ways does not run), else the language's convention: four spaces for Python (PEP 8), two for the others.
 */
export function indentFor(path: string, doc: string): string {
  const indented = /^([ \t]+)\S/m.exec(doc)?.[1];
  if (indented !== undefined && (indented === '\t' || /^ {2,8}$/.test(indented))) return indented;
  return languageOf(path, doc) === 'py' ? '    ' : '  ';
}

/**
 * Escape readies the next Tab to leave the editor, as CodeMirror has it for keyboard users, whatever else the
 * Escape does. CodeMirror readies it only when no key binding takes the Escape, and its autocompletion takes
 * one while a query is pending, with nothing on screen: right after typing, Escape then Tab indented.
 */
const escapeThenTabLeaves = Prec.highest(
  EditorView.domEventHandlers({
    keydown(event, view) {
      if (event.key === 'Escape') view.setTabFocusMode(2000);
      return false;
    },
  }),
);

const theme = EditorView.theme({
  '&': { fontSize: '13px', height: '100%' },
  '.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.5' },
  '.cm-gutters': { background: 'var(--panel-2)', borderRight: '1px solid var(--border)' },
  '&.cm-focused': { outline: '2px solid var(--focus)', outlineOffset: '-2px' },
});

export interface EditorOptions {
  doc: string;
  path: string;
  readOnly?: boolean;
  onChange?: (text: string) => void;
  /** Mod-s inside the editor (Deploy, on `$LATEST`). */
  onSave?: () => void;
  label?: string;
}

/** The state of one file in the editor: its text, undo history and language. */
export function editorState(options: EditorOptions): EditorState {
  const extensions: Extension[] = [
    basicSetup,
    theme,
    languageFor(options.path, options.doc),
    indentUnit.of(indentFor(options.path, options.doc)),
    // Tab indents, as in any code editor; Escape then Tab leaves the editor, as CodeMirror has it for keyboards.
    keymap.of([indentWithTab]),
    escapeThenTabLeaves,
    EditorState.readOnly.of(options.readOnly === true),
    EditorView.editable.of(options.readOnly !== true),
    EditorView.contentAttributes.of({ 'aria-label': options.label ?? `Code of ${options.path}` }),
  ];
  if (options.onSave) {
    const save = options.onSave;
    extensions.unshift(
      keymap.of([
        {
          key: 'Mod-s',
          preventDefault: true,
          run: () => {
            save();
            return true;
          },
        },
      ]),
    );
  }
  if (options.onChange) {
    const onChange = options.onChange;
    extensions.push(
      EditorView.updateListener.of((update) => {
        if (update.docChanged) onChange(update.state.doc.toString());
      }),
    );
  }
  return EditorState.create({ doc: options.doc, extensions });
}

export function createEditor(parent: HTMLElement, options: EditorOptions): EditorView {
  return new EditorView({ state: editorState(options), parent });
}

/** Two read-only texts side by side with their differences marked (comparing versions). */
export function createDiff(parent: HTMLElement, a: string, b: string, path: string): MergeView {
  const common = [
    basicSetup,
    theme,
    languageFor(path, a),
    EditorState.readOnly.of(true),
    EditorView.editable.of(false),
  ];
  return new MergeView({
    a: { doc: a, extensions: common },
    b: { doc: b, extensions: common },
    parent,
    collapseUnchanged: { margin: 3, minSize: 6 },
    gutter: true,
  });
}

export { EditorView, type EditorState };
