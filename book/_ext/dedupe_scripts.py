"""Sphinx extension: drop repeated <script> entries from each page.

With Jupyter Book 1.0.4, sphinx-thebe registers its inline configuration
script twice (once with filename None, once with ''), and the second copy
fails in the browser with "Identifier 'THEBE_JS_URL' has already been
declared" on every page.
"""


def _key(script):
    filename = getattr(script, "filename", None) or (str(script) if not hasattr(script, "attributes") else "")
    return filename, tuple(sorted(getattr(script, "attributes", {}).items()))


def _dedupe(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        if _key(script) not in seen:
            seen.add(_key(script))
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
