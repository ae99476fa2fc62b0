// Marks, in each kind of region of the open notebook, the element whose own text holds the first Chinese
// characters, so that the test can ask Chromium (DevTools CSS.getPlatformFontsForNode) which fonts drew them.
// Called with [attribute]; returns {kind: sample text} for the kinds found (prose, code, output, widget).
([attribute]) => {
  const regions = {
    prose: '.jp-NotebookPanel .jp-MarkdownOutput',
    code: '.jp-NotebookPanel .jp-InputArea-editor',
    output: '.jp-NotebookPanel .jp-OutputArea-output[data-mime-type^="application/vnd.jupyter.std"], ' +
            '.jp-NotebookPanel .jp-OutputArea-output[data-mime-type="text/plain"]',
    widget: '.jp-NotebookPanel .jupyter-widgets',
  };
  const han = /[\u3400-\u9fff]/;
  for (const old of document.querySelectorAll(`[${attribute}]`)) old.removeAttribute(attribute);
  const found = {};
  for (const [kind, selector] of Object.entries(regions)) {
    for (const root of document.querySelectorAll(selector)) {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT,
        {acceptNode: n => han.test(n.textContent) ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP});
      const text = walker.nextNode();
      if (text && text.parentElement && text.parentElement.getClientRects().length) {
        text.parentElement.setAttribute(attribute, kind);
        found[kind] = text.textContent.trim().slice(0, 40);
        break;
      }
    }
  }
  return found;
}
