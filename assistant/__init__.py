"""Federation Advisor: cited answers on at-scale general practice from NHS reports."""

__version__ = "0.1.0"
