"""Sphinx extension: drop repeated inline scripts from each page.

With Sphinx 7, extensions that add inline configuration scripts when documents are read
(sphinx-thebe, sphinx-togglebutton) get them emitted twice, and a repeated ``const`` declaration
is a JavaScript SyntaxError in the reader's console. Keeping the first copy of each script fixes it.
"""


def _unique(app, pagename, templatename, context, doctree):
    seen, kept = set(), []
    for script in context.get("script_files", []):
        # the same inline script arrives once with filename None and once with ""
        name = getattr(script, "filename", script) or ""
        key = (str(name), tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", _unique, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
