"""Visualisation: instances drawn onto frames, one stable colour per track id."""

from vistool.viz.colors import color_for_id, text_color
from vistool.viz.overlay import (
    OverlayItem,
    OverlayStyle,
    draw_instances,
    draw_items,
    draw_rles,
    instance_text,
)

__all__ = ["OverlayItem", "OverlayStyle", "color_for_id", "draw_instances", "draw_items", "draw_rles",
           "instance_text", "text_color"]
