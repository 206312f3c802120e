"""The set-up every chapter's first cell does, in one call.

A chapter begins with::

    from mlpkit.notebook import start_chapter

    glue = start_chapter()  # TensorFlow imported without its log lines

:func:`start_chapter` imports TensorFlow before anything else does, with its start-up
log lines held back (:func:`mlpkit.quiet.import_tensorflow`), and returns the function
the chapter quotes computed numbers into its text with: myst-nb's ``glue`` when the
book is being built, and a stand-in that does nothing where myst-nb is not installed
(a chapter notebook in Colab or a plain Jupyter), so that the same cells run there.
"""

from mlpkit.quiet import import_tensorflow


def no_glue(name, value, display=True):
    """Stand-in for myst-nb's ``glue`` outside the book: there is no text to quote
    into, so it does nothing (and shows nothing)."""


def start_chapter():
    """Import TensorFlow quietly and return ``glue`` (myst-nb's, or :func:`no_glue`
    where myst-nb is missing).

    Call it first in a chapter, before anything imports TensorFlow.
    """
    import_tensorflow()
    try:
        from myst_nb import glue
    except ImportError:
        return no_glue
    return glue
