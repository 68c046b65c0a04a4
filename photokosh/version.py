"""photokosh's version, in a module of its own: the report records it, and importing the
package's __init__ for it would tie every module to the package's lazy imports."""

__version__ = "0.1.0"
