"""Reports: statistics by period, topic, channel and area, and the documents made from them."""
