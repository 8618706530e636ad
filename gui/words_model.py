"""The Model tab's words (read through gui.words): its knobs, each technical word with a plain gloss in its info line,
and the one-sentence recipe with the exact recipe under a closed fold."""

MODEL_INTRO = "You can skip this tab: the app picks good settings for your pictures. Change them only to experiment."
BACKBONE = "Starting model (backbone)"
BACKBONE_INFO = ("The pretrained model your classifier starts from: it already knows shapes, textures and objects. "
                 "The small CNN from scratch knows nothing yet: it shows what a pretrained start gains.")
HEAD = "New head"
HEAD_INFO = "The small new part that learns your classes."
WHAT_TRAINS = "What trains"
WHAT_TRAINS_INFO = ("Fine-tune: let the pretrained model adjust a little to your pictures. A frozen backbone stays "
                    "as it is, and only the head learns (fastest).")
FREEZE_AUTO = "Automatic: picked from your data and this computer (recommended)"
EPOCHS = "Epochs (0: automatic)"
EPOCHS_INFO = "An epoch is one pass over all your training pictures."
STAGE1_EPOCHS = "Head-only epochs before a second stage (0: automatic)"
STAGE1_EPOCHS_INFO = "With two stages: the epochs where only the head learns, before the pretrained model adjusts too."
LEARNING_RATE = "Learning rate (0: automatic)"
LEARNING_RATE_INFO = "How big each learning step is. This is the head's; a second stage takes smaller steps."
RECIPE_PLACEHOLDER = "Choose a folder of pictures in the Data tab to see what one click on Train does."
# The recipe in one sentence, then the exact recipe (core's own sentence) under a closed fold.
RECIPE_AUTO = "**Recommended for your {pictures:,} pictures:** {duration} on {machine}."
RECIPE_CHANGED = "**With your changes ({changed}), for your {pictures:,} pictures:** {duration} on {machine}."
# ... when the recipe goes deeper only if the pictures turn out hard: the longest it may take, after the sentence
RECIPE_UP_TO = " Up to {longest} if your pictures turn out hard."
RECIPE_DETAILS = "<details><summary>{summary}</summary>\n\n{recipe}\n\n</details>"
DETAILS = "Details"
MACHINES = {"cpu": "this computer", "cuda": "this computer's graphics card"}
# A run's length in words: the first row whose bound (seconds) it is under.
DURATIONS = ((45, "less than a minute"), (90, "about 1 minute"), (3600, "about {minutes} minutes"),
             (5400, "about 1 hour"), (float("inf"), "about {hours} hours"))
CHANGED_JOIN = ", "
KNOB_NAMES = {  # what the sentence calls a setting the user changed (never one word: see gui.i18n's CODE_WORD)
    "backbone": "the starting model", "head": "the head", "freeze": "what trains", "epochs": "the epochs",
    "stage1_epochs": "the head-only epochs", "lr": "the learning rate", "optimizer": "the optimizer",
    "scheduler": "the learning-rate schedule", "weight_decay": "the weight decay",
    "label_smoothing": "the label smoothing", "batch": "the batch size", "image_size": "the image size",
    "augment": "the augmentation", "views": "the versions per picture", "patience": "the early stopping",
    "balance": "the imbalanced classes", "when_solved": "the second stage when solved", "hidden": "the hidden units",
    "dropout": "the dropout", "seed": "the seed",
}
ADVANCED = "Advanced settings"
OPTIMIZER, SCHEDULE, BALANCE = "Optimizer", "Learning-rate schedule", "Imbalanced classes"
BALANCE_CHOICES = {"auto": "Automatic", "none": "Off", "weights": "Weigh the loss",
                   "sampler": "Draw rare classes more often"}
WEIGHT_DECAY, LABEL_SMOOTHING, BATCH = "Weight decay", "Label smoothing", "Batch size"
IMAGE_SIZE = "Image size (pixels, multiple of 32)"
PATIENCE = "Early stopping: epochs without improvement (0: never)"
WHEN_SOLVED = "When the head alone already gets every validation image right"
WHEN_SOLVED_CHOICES = {"auto": "Automatic: skip it when What trains is on Automatic; a mode you picked trains it",
                       "skip": "Skip the second stage (it cannot do better)",
                       "continue": "Train the second stage anyway"}
HIDDEN, DROPOUT, SEED = "Hidden units (MLP heads)", "Dropout", "Seed (same seed, same curves)"
AUGMENTATION = "Augmentation"
AUGMENT_CHOICE = "{name}: {text}"
AUGMENTATION_INFO = ("Applied to every training image each epoch while the backbone trains; a frozen backbone instead "
                     "reads a few augmented versions of each image once and keeps them.")
VIEWS = "Frozen backbone: versions of each training image, original included (0: automatic, 1: no augmentation)"
WEIGHTS_MISSING = "{sentence}; or pick a bundled backbone."  # the sentence is core's BackboneSpec.missing_weights()
