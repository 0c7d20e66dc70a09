"""The `shop` agent: an online shop's customer service (orders, cancellations, tickets, policies)."""
