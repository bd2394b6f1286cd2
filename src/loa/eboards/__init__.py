"""Public electronic boards (bảng tin điện tử công cộng): the published bulletins of an area, signed."""
