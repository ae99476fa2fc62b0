// Status of the kernel of the open notebook at `path` ('idle', 'busy', 'starting', ...), 'none' while it has none.
(path) => {
  for (const w of window.jupyterapp.shell.widgets('main')) {
    if (w.context && w.context.path === path) {
      const session = w.sessionContext.session;
      return session && session.kernel ? session.kernel.status : 'none';
    }
  }
  return 'none';
}
