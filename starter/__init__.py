"""Starting and messaging attempt workflows: what the web app (and scripts) call."""
