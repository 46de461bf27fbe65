"""albauth: AWS Application Load Balancer authentication, anywhere."""

__version__ = "0.1.0"
__all__ = ["__version__"]
