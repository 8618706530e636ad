"""One module per tab: each lays out its components with `build(...)` and keeps its handlers beside them."""
