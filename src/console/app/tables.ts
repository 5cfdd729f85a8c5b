/**
 * Gives every cell of the console's tables its column's heading as `data-label`, which narrow windows show
 * beside the cell once a row is stacked into a block (styles.css). Watches the page, so that tables drawn
 * later (a refresh, another tab) get theirs too.
 */
export function labelTableCells(root: HTMLElement): void {
  let queued = false;
  const label = () => {
    queued = false;
    for (const table of root.querySelectorAll<HTMLTableElement>('table.table')) {
      const headings = [...table.querySelectorAll('thead th')].map((th) => th.textContent);
      for (const row of table.tBodies[0]?.rows ?? []) {
        for (const cell of row.cells) {
          if (!cell.hasAttribute('data-label'))
            cell.setAttribute('data-label', headings[cell.cellIndex] ?? '');
        }
      }
    }
  };
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    queueMicrotask(label);
  }).observe(root, { childList: true, subtree: true });
}
