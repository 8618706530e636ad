"""Training: `train(config)` yields typed events; its stages, batches, optimizer step, recipes, LR finder,
the frozen backbone's features and their disk store, and torchrun. Uses data, models and runstore."""
