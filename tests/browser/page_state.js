// State of one open notebook as the page holds it: what a student sees (the DOM) and the notebook model.
// Called by page.evaluate(source, [path, widgetMime, widgetReprPattern]); returns null while the notebook is not
// open and ready. Reads JupyterLab 4 through window.jupyterapp (the server runs with expose_app_in_browser).
async ([path, widgetMime, reprPattern]) => {
  const app = window.jupyterapp;
  let panel = null;
  for (const w of app.shell.widgets('main')) { if (w.context && w.context.path === path) panel = w; }
  if (!panel || !panel.context.isReady) return null;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const reprRe = new RegExp(reprPattern);
  // JupyterLab 4 renders an `error` output as application/vnd.jupyter.stderr text, like a stderr stream:
  // tell them apart by the traceback.
  const tracebackRe = /Traceback|^\s*\w+(Error|Exception)\b/m;

  async function widgetState(item, out) {
    const view = item && item.node.querySelector('.jp-OutputArea-output');
    // Is the widget model still alive in the kernel? (false: closed on purpose, e.g. a finished progress bar).
    // Reads jupyterlab_widgets' renderer internals; null when they are not there.
    let alive = null;
    const renderer = item && item.widgets && item.widgets.find(w => w._manager && w._manager.promise);
    if (renderer) {
      try { alive = (await renderer._manager.promise).has_model(out.data[widgetMime].model_id); } catch (e) {}
    }
    return {alive, found: !!view,
            rendered: !!view && view.querySelector(':scope > .jupyter-widgets') !== null,
            text: view ? view.textContent.slice(0, 200) : ''};
  }

  const cells = [];
  for (const [i, cell] of panel.content.widgets.entries()) {
    if (cell.model.type !== 'code') continue;
    const outputs = cell.model.outputs.toJSON();
    const node = cell.node;
    const prompt = node.querySelector('.jp-InputPrompt');
    const items = cell.outputArea ? cell.outputArea.widgets : [];
    const widgets = [];
    for (const [j, out] of outputs.entries()) {
      if (out.data && out.data[widgetMime]) {
        widgets.push(await widgetState(items.length === outputs.length ? items[j] : null, out));
      }
    }
    const shown = (mime) => [...node.querySelectorAll(`.jp-OutputArea-output[data-mime-type="${mime}"]`)]
      .map(e => e.textContent);
    const stderr = shown('application/vnd.jupyter.stderr');
    cells.push({
      index: i,  // position among all cells, markdown included (as JupyterLab numbers them)
      empty: cell.model.sharedModel.getSource().trim() === '',
      raisesOk: (cell.model.getMetadata('tags') || []).includes('raises-exception'),  // as nbval and Run All do
      count: cell.model.executionCount,
      prompt: prompt ? prompt.textContent.trim() : '',
      errors: outputs.filter(o => o.output_type === 'error').map(o => `${o.ename}: ${o.evalue}`),
      domErrors: stderr.filter(t => tracebackRe.test(t)),
      warnings: stderr.filter(t => !tracebackRe.test(t)).map(t => t.trim().slice(0, 300)),
      widgets,
      plainReprs: shown('text/plain').filter(t => reprRe.test(t)),
    });
  }
  return {
    kernel: kernel ? kernel.status : 'none',
    busyIndicator: panel.node.querySelector('.jp-Notebook-ExecutionIndicator[data-status="busy"]') !== null,
    cells,
  };
}
