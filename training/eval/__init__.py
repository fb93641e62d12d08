"""Generation evaluation: the frozen text/motion evaluator, its training task, metrics and protocol."""
