"""Services: the rules, taking their dependencies as arguments."""
