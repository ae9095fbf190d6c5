"""Agent-based model of park co-construction in the Wuhan city circle (武汉城市圈)."""

__version__ = "0.1.0"
