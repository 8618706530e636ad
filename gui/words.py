"""Every word the app shows a person, in one place, so that wording is changed (or reviewed) without reading logic.

Plain constants and `str.format` templates with named fields; the tabs keep the logic that picks and fills them.
"""
from __future__ import annotations

WARN = "⚠️ {}"  # a problem the user can act on, said in one sentence

# The page
APP_TITLE = "Transfer Studio"
APP_INTRO = ("# Transfer Studio\nTeach a model that already knows pictures to tell your own kinds of pictures "
             "apart. Pick your pictures, train, then try it.")
# "Start here" (gui.start_here): the first start's three steps, until the owner hides them
START_HERE = ("**Start here**, in three steps. **{data_tab}**: {data} **{train_tab}**: press *{start}*. "
              "**{predict_tab}**: drop a picture in. The **{model_tab}** tab can wait: the app picks the settings "
              "for you.")  # the tabs by their names
START_HERE_DATA = {True: "the demo shapes are already picked (or choose your own folder).",
                   False: "your folder `{name}` is already picked (or choose another)."}  # True: the demo shapes
START_HERE_HIDE = "Got it, hide this"
TAB_DATA, TAB_MODEL, TAB_TRAIN, TAB_PREDICT = "1. Data", "2. Model", "3. Train", "5. Predict"

# Which folders may be read (gui.context)
CHOOSE_DATASET = "Choose a dataset folder first."
MISSING_INSIDE = "{text} does not exist inside {roots}."
OUTSIDE_SERVED = ("{text} is outside the folders this app serves ({roots}). "
                  "Copy the dataset into the data folder, or start the app with --data pointing at it.")
NO_SUCH_RUN = "There is no run called {run_id!r}."
NO_RUN_YET = "No trained run yet: train one in the Train tab first."

# Progress bar (gui.progress)
WAITING = "Waiting to start"
CHECKING = "Checking pictures: {done}/{total}"
READING = "Reading each picture once with the starting model: {done}/{total}{cached}"
FROM_CACHE = " ({cached} read before)"
EPOCH_STEP = "Epoch {epoch}/{epochs}{stage} · step {step}/{total}"
IN_STAGE = " (stage {stage}: {name})"
SWEEPING = "Trying learning rates: {step}/{total}"
IMAGES_PER_S = "{rate:.0f} pictures/s"
HEAD_ON_CACHED = "only the new head learns now (fast)"
ETA = "{duration} left"
RUN_ETA = "{duration} left in all"
ON_BEHALF = "{what} · {label}"  # which run the bar follows, when it is not the user's own
FINISHED, STOPPED, FAILED = "Finished", "Stopped", "Failed"
NOT_STARTED, STARTING = "Not started", "Starting…"

# Charts (gui.charts)
LOSS, ACCURACY = "Loss", "Accuracy"
STEP_AXIS = "step"
TRAIN_EACH_STEP, TRAIN_SMOOTHED, VALID_EACH_EPOCH = "train (each step)", "train (smoothed)", "valid (each epoch)"
SCRATCH_TRAIN, SCRATCH_VALID = "from scratch: train (smoothed)", "from scratch: valid"
STAGE_MARK = "stage {stage}: {name}"
COUNTS_TITLE = "Usable images per class"
LR_LOSS, LR_SUGGESTION_MARK = "loss (smoothed)", "suggestion"
LR_TITLE, LR_AXIS = "Loss against learning rate", "learning rate (log scale)"

# Data tab: checking a folder
SUBTAB_CHECK, SUBTAB_BUILD = "Check a folder", "Build a dataset"
CHECK_INTRO = ("Pick a folder of pictures with one subfolder per class, such as `cat/` and `dog/`. The app "
               "holds some of them back to check the model. Or use `train/` and `valid/` folders, each with one "
               "subfolder per class.")
DATASET_FOLDER = "Folder of pictures (dataset)"
DATASETS_FOUND = "Folders found in {root}"
LOOK_AGAIN = "Look again"
VALID_SHARE = "Pictures held back for checking (%)"
VALID_SHARE_INFO = ("Validation: pictures held back to check the model honestly; it never learns from them. Only "
                    "for folders without valid/. The same pictures every time.")
IMAGES_PER_CLASS = "Pictures per class"
SKIPPED_FILES = "Skipped files"
SKIPPED_FILES_COUNT = "Skipped files ({count})"
SKIPPED_NONE = "none"
SKIPPED_HEADERS = ["file", "why it is skipped"]
THUMBNAILS = "A few training pictures per class"
NOT_CHECKED = "Not checked"
CHECKED = "Checked {files} files"
LAYOUT_WORDS = {
    "split": "**train/ and valid/ folders**",
    "train-only": "a **train/ folder without valid/**: {pct} of each class is held back to check the model "
                  "(the same pictures every time, seed {seed})",
    "flat": "**one folder per class**: {pct} of each class is held back to check the model "
            "(the same pictures every time, seed {seed})",
}
FOUND = ("Found {layout}. **{count} classes**: {classes}.\n\n"
         "{totals} · {skipped} · checked {files} files in {seconds:.1f} s{remembered}.")
SPLIT_TOTAL = "{images} pictures {split}"
SPLIT_WORDS = {"train": "to learn from", "valid": "held back", "test": "to test"}  # a split's name in SPLIT_TOTAL
REMEMBERED = ", {count} remembered from an earlier check"
FILES_SKIPPED = "**{count} files skipped** (listed below)"
NO_FILE_SKIPPED = "no file skipped"
NO_PROBLEMS = "✅ **No problems found.** The pictures look ready to train."
WARNINGS_HEADING = "### ⚠️ {count} thing(s) worth a look"
WARNING_LINE = "- **{title}**: {message}"
WARNING_EXAMPLES = "  e.g. {examples}"
WARNING_TITLES = {
    "leakage": "Same picture in training and validation",
    "label_conflict": "Same picture in two classes",
    "duplicates": "Identical copies",
    "near_duplicates": "Nearly identical pictures",
    "missing_in_valid": "Classes with no pictures held back",
    "empty_class": "Empty class folders",
    "unknown_class": "Classes only in valid/ or test/",
    "unsplit_class": "Classes too small to split",
    "few_images": "Few images",
    "imbalance": "Unbalanced classes",
    "tiny": "Tiny images",
}

# Data tab: building a dataset
BUILDER_INTRO = ("Make a dataset here, like Teachable Machine: name it, add a class, drop its pictures (or take "
                 "photos), repeat for each class. It is saved as ordinary folders in `{root}/datasets/`.")
DATASET_NAME, NEW_DATASET_NAME = "Dataset name", "my-dataset"
NEW_CLASS, NEW_CLASS_EXAMPLE, ADD_CLASS = "New class", "e.g. cat", "Add class"
ADD_TO_CLASS = "Add pictures to class"
DROP_PICTURES, TAKE_PHOTO = "Drop pictures for this class", "…or take a photo"
UPLOAD_ZIP = "…or upload a .zip of class folders"
REMOVE_PICTURE = "Remove the picture clicked last"
USE_DATASET = "Check this dataset and use it for training"
CLASS_GALLERY = "{name} · {count} picture(s){more}"
FIRST_SHOWN = " (first {count} shown)"
ADDED = "Added {count} picture(s) to {where}."
NOT_ADDED = " **Not added ({count})**: "
REFUSED_FILE = "`{name}`: {reason}"
IN_CLASS = "**{name}**"
FROM_ZIP = "`{folder}` from {archive}"
DATASET_OPENED = "Dataset `{where}`: {count} class(es)."
DATASET_NEW = "New dataset `{where}`: add a class to start."
CLASS_FIRST = "Add a class (or pick one) before adding pictures."
CLASS_READY = "Class **{name}** is ready: drop its pictures below."
CLICK_FIRST = "Click a picture first, then remove it."
REMOVED = "Removed `{name}`."

# Model tab: its knobs, their glosses and the recipe sentence are in gui/words_model.py (read through this module)
# Model tab: summary and learning-rate finder
SUMMARY_ACCORDION, SHOW_SUMMARY = "Model summary", "Show the model summary"
SUMMARY = ("**{total:,} parameters**, {trainable} · **{mb} MB** · input {size} · {classes} classes\n\n"
           "```\n{table}\n```")
TRAINABLE = "{count:,} trainable"
TRAINABLE_TWO_STAGES = " in stage 1 (the head), {count:,} in stage 2"
TRAINABLE_HEAD_ONLY = " (the head; the backbone is frozen)"
LR_FINDER = "Learning-rate finder"
LR_FINDER_INTRO = ("A short sweep raises the learning rate step by step and records the loss; a good rate is where "
                   "the loss falls fastest. It does not change anything until you click *Use it*.")
FIND_LR, USE_LR = "Find a learning rate", "Use it"
LR_NOT_RUN_YET, LR_NOT_RUN, LR_SWEPT = "Not run yet", "Not run", "Finished the sweep"
LR_SUGGESTION = ("Suggested learning rate: **{lr:.1e}** (where the loss falls fastest; swept the {trains} over "
                 "{steps} steps in {seconds:.0f} s). Click *Use it* to copy it into the learning-rate box.")
LR_WHILE_TRAINING = ("A training is running in this app: the learning-rate finder trains too and would slow it down "
                     "(and be slowed down); try again when it has ended.")

# Train tab
START_TRAINING, TRAINING_BUTTON, STOP = "Start training", "Training…", "Stop"
COMPARE_SCRATCH = ("Afterwards, also train a small model from zero on the same pictures and draw its curves here. "
                   "It shows what the pretrained start gains, and takes a few minutes more.")
LOG = "Log"
TERMINAL = "The same run from a terminal"
TERMINAL_PLACEHOLDER = "# Start a run to see its command line."
TORCHRUN_COMMENT = "# data-parallel, one process per GPU (or per group of CPU cores):"
TRAINING = "Training…"
RUN_STARTED = ("Run {run_id} started: {classes} classes, {train} pictures to learn from and {valid} held back to "
               "check it. It trains {mode}, on {device}.")
MODE_WORDS = {  # what trains, by freezing mode (core.config.FREEZE_MODES)
    "frozen": "only the new head (the backbone stays frozen)",
    "top": "the new head, then the top layers of the backbone",
    "deep": "the new head, then the top layers, then deeper layers of the backbone where the pictures need them",
    "two_stage": "the new head, then every layer",
    "finetune": "every layer at once",
}
DEVICE_WORDS = {"cpu": "the processor (CPU)", "cuda": "the graphics card (GPU)", "mps": "the graphics chip (MPS)"}
EPOCH_LINE = ("Epoch {epoch}: {valid_acc:.1%} of the held-back pictures right, {train_acc:.1%} of the training "
              "ones · loss {valid_loss:.3f} (training {train_loss:.3f}){best}")
BEST_SO_FAR = " · best so far, saved"
DONE = "Done"
RUN_ENDED = ("{verb} in {seconds:.0f} s, after {epochs} epoch(s). The model got {acc:.1%} of the held-back pictures "
             "right (best at epoch {best_epoch}). It is saved as run {run_id}. Try it in the Predict tab.")
RUN_SKIPPED = " {count} file(s) skipped (see the Data tab)."
STOPPED_UNCHECKED = "Stopped before the model was checked on the held-back pictures. Nothing was saved."
SCRATCH = "From scratch"
SCRATCH_LOG = "From scratch: {line}"
SCRATCH_NEXT = " Now a small model learns from zero on the same pictures, for comparison…"
SCRATCH_ENDED = ("For comparison, a small model that learned from zero on the same pictures got {acc:.1%} right "
                 "(epoch {best_epoch}, {seconds:.0f} s).")
SCRATCH_ENDED_EARLY = SCRATCH_ENDED.removesuffix(".") + ", stopped early."
SCRATCH_STOPPED_EARLY = "The from-scratch comparison was stopped before its first epoch ended."
SCRATCH_FAILED = "{status} ⚠️ The from-scratch comparison failed: {kind}: {error}."
TRAINING_FAILED = "⚠️ Training failed: {kind}: {error}. The best model saved so far is kept."
NOTHING_TRAINING = "Nothing is training."
STOPPING = "Stopping after this step…"

# Predict tab
NEWEST_RUN = "Newest run"
TRAINED_RUN = "Trained model (run)"
DROP_IMAGES = "Drop one or more pictures here"
PASTE_IMAGE, PREDICTION = "…or paste one picture", "What the model says"
DRAW_SHAPE, DRAWING_SEEN = "…or draw a shape", "What the model sees in your drawing"
THIS_FILE, THIS_IMAGE = "This file", "This image"
CANNOT_USE = "{name} cannot be used: {reason}."
NOT_AN_IMAGE = "{name} cannot be used: it is not an image this app can read."

# HTTP endpoint (gui.rest): errors in its JSON answers
REST_BAD_K = "k must be a whole number, as in ?k=3"
REST_TOO_LARGE = "images up to {mb} MB"
REST_UNUSABLE = "the image cannot be used: {reason}"

# Evaluate tab (gui.tabs.evaluate)
TAB_EVALUATE = "4. Evaluate"
EVALUATE_INTRO = ("How good is a run, and where does it fail? Pick a run and the images to judge it on: its own "
                  "validation images (exactly the ones it was validated on), or the dataset's test/ folder, which "
                  "training never looked at.")
EVALUATE_SPLIT = "Judge it on"
SPLIT_CHOICES = [("its validation images", "valid"), ("the test/ folder", "test")]
EVALUATE_BUTTON = "Evaluate"
EVALUATING = "Evaluating: {done}/{total} images"
EVALUATE_SUMMARY = ("**{split}**: {images} images · accuracy **{accuracy:.1%}** · balanced accuracy {balanced:.1%}"
                    "{topk}\n\nConfidence: calibrated with temperature {temperature:.2f} (calibration error "
                    "{ece_before:.1%} before, {ece_after:.1%} after); below **{threshold:.0%}** the model is not "
                    "sure.{skipped}")
SPLIT_NAMES = {"valid": "Validation images", "test": "Test images (never used in training)"}
TOPK_PART = " · top-{k} accuracy {value:.1%}"
SKIPPED_PART = " {count} unreadable file(s) left out."
PER_CLASS = "Per class"
PER_CLASS_COLUMNS = ["class", "precision", "recall", "F1", "images"]
CONFUSION = "Confusion matrix: rows are the true class, columns what the model said. Click a cell to see its pictures."
NORMALISE = "Show each row as shares"
CELL_GALLERY = "Pictures behind the cell"
CELL_CAPTION = "true {true} → said {predicted} ({confidence:.0%})"
CELL_EMPTY = "No picture in that cell."
CELL_HIDDEN = "{count} picture(s) lie outside the folders this app serves, so only their names are listed: {names}"
MISTAKES = "Mistakes, worst first (and the least sure right answers)"
MISTAKE_CAPTION = "{verdict}: true {true}, said {predicted} ({confidence:.0%})"
WRONG, RIGHT = "wrong", "right but unsure"
SHOW_CAM = "Show where the model looked (Grad-CAM)"
CAM_NONE = "{reason}"
DIAGNOSIS = "What to try next"
ALL_WELL = "- Nothing stands out: every class is recognised well on these images."
LOW_RECALL = ("- **{name}** is recognised only {recall:.0%} of the time and has {train} training pictures: add about "
              "{more} more pictures of {name}.")
CONFUSED_BOTH = "- **{a}** and **{b}** are confused both ways: add pictures that show what tells them apart."
CONFUSED_ONE = "- **{true}** is often taken for **{predicted}** ({count} of them): look at those pictures above."
OVERFIT = ("- Training accuracy ({train:.0%}) is far above this accuracy ({valid:.0%}): the model memorises. Add "
           "pictures, augmentation, or fewer epochs.")
DEEPER = ("- **Train more of the backbone**: choose *Best quality (slower)* in the Model tab and train again. On "
          "pictures like these it usually gains several points over {valid:.0%}.")
OVERCONFIDENT = ("- Before calibration its confidence was off by {ece:.0%} on average; the confidences shown are "
                 "calibrated.")
NOT_SURE = "**Not sure**: this picture is unlike the ones it gets right; the closest classes are below."
FOLDER_ACCORDION = "A whole folder of pictures → a CSV file"
FOLDER_BOX = "Folder of pictures (inside the data folder)"
FOLDER_BUTTON = "Predict every picture in it"
FOLDER_CSV = "Predictions (CSV: path, top class, confidence, not sure, top 3, error)"
FOLDER_DONE = "{predicted} picture(s) predicted{unreadable}; download the CSV below."
FOLDER_UNREADABLE = ", {count} file(s) could not be read (their rows say why)"
PREDICTING = "Predicting: {done}/{total} pictures"
WEBCAM_ACCORDION = "Live webcam"
WEBCAM = "Webcam: allow the camera and every frame gets labelled"
WEBCAM_SEEN = "What the model sees now"
RELIABILITY = "Reliability: how often it is right at each confidence (after calibration)"
COVERAGE = "Answer fewer pictures, get more of them right"
THRESHOLD_SLIDER = "Say \"not sure\" below this confidence"
THRESHOLD_BUTTON = "Use this threshold for this run"
THRESHOLD_EFFECT = ("At {threshold:.0%} it answers {coverage:.0%} of these pictures, {accuracy:.1%} of them right; the "
                    "rest get \"not sure\".")
THRESHOLD_SAVED = "Saved: predictions of this run say \"not sure\" below {threshold:.0%} from now on."
CONFIDENCE_AXIS, SHARE_AXIS = "confidence", "share answered"
SHOW_CAM_SINGLE = "Show where the model looked (Grad-CAM)"
CAM_IMAGE = "Where the model looked"
FROM_DATA_CHECK = "- From the data check: {message}"
CONFUSION_PICTURE = "Confusion matrix"
SAID_AXIS, TRUE_AXIS = "what the model said", "true class"

# Audit (gui.tabs.audit): the Data tab's "Find problems"
SUBTAB_AUDIT = "Find problems"
AUDIT_INTRO = ("Find what is wrong with the data before the model learns it: pictures that look like another class, "
               "something other than the subject that gives the class away, pictures that do not belong, the same "
               "thing photographed twice, and which classes need more pictures. The pretrained model reads each "
               "picture once (remembered for the next audit and for training).")
AUDIT_BUTTON = "Audit this dataset"
NOT_AUDITED = "Not audited"
AUDIT_STOPPED = "Stopped before the end: nothing to show"
AUDITED = "Audited {files} pictures in {seconds:.0f} s"
SHORTCUT_HEADING = "### ⚠️ A shortcut the model could learn"
SHORTCUT_PROPERTY = "- **{name}** alone guesses the class {accuracy:.0%} of the time"
SHORTCUT_EXAMPLES = "Pictures that give it away"
NO_SHORTCUT = ("✅ **No shortcut found**: size, format, brightness, colour, sharpness and camera do not give the "
               "class away.")
REVIEW_HEADING = ("### Review labels\nThe pictures whose folder disagrees most with what they look like. Click one, "
                  "then keep it, move it, or set it aside (into `_set_aside/`, which training ignores). Nothing is "
                  "deleted and every change can be undone.")
SUSPECTS = "Likely in the wrong class ({count} shown)"
SUSPECT_CAPTION = "in {given}, looks like {suggested} ({probability:.0%})"
REVIEW_READY = "{found} Click a picture to review it."
NO_SUSPECTS = "✅ **No picture left to review**: none looks like it is in the wrong class."
CLICK_A_SUSPECT = "Click a picture of the gallery first."
PICK_A_CLASS = "Pick the class to move it to first."
SELECTED = "**{name}**: in {given}, looks like {suggested} ({probability:.0%})."
KEEP = "Keep (the label is right)"
MOVE_SUGGESTED = "Move to {suggested}"
MOVE_SUGGESTED_NONE = "Move to the suggested class"
MOVE_TO, MOVE_BUTTON = "Or move to", "Move"
SET_ASIDE = "Set aside"
UNDO_LAST = "Undo the last change"
KEPT = "Kept {name} in {given}: it is no longer listed."
MOVED = "Moved {name} from {given} to {to}."
SET_ASIDE_DONE = "Set {name} aside: it is out of {given} and no longer used for training."
UNDONE = "Undone: {what}."
UNDONE_BATCH = "Undone: {count} pictures went back where they were (they were changed together, on the map)."
NOTHING_TO_UNDO = "There is no change to undo."
NO_CHANGES = "No change made to the folders yet."
CHANGES = "**Changes made to the folders ({count})**, newest first:"
CHANGE_LINE, CHANGE_UNDONE = "- {what}", "- ~~{what}~~ (undone)"
CHANGE_KINDS = {"move": "{name} moved from `{source}` to `{target}`",
                "set_aside": "{name} set aside from `{source}` to `{target}`",
                "add": "{name} added to `{target}`"}
CURVES_HEADING = "### How many more pictures"
CURVES_TITLE = "Validation recall per class against its training pictures"
CURVES_AXIS = "training pictures of the class"
CURVE_POINTS, CURVE_FIT = "{name}", "{name} (fitted)"
ADVICE = "**{advice}**"
NO_ADVICE = "Too few pictures to say how many more each class needs."
OUTLIERS = "Is this picture meant to be here? ({count} far from every class)"
OUTLIER_CAPTION = "in {given}, unlike every class"
DUPLICATES = "The same thing photographed more than once ({count} groups): keep one of each"
DUPLICATE_CAPTION = "group {group}, in {name}"
NOT_SHOWN = "Not shown (outside the folders this app serves): {names}"

# The Runs tab and sharing the app (demo view, passwords, visitors) have their words in a sibling module, read
# through this one: `words.TAB_RUNS` works as every other name does.
from gui.words_model import *  # noqa: F401, F403, E402
from gui.words_runs import *  # noqa: F401, F403, E402
from gui.words_share import *  # noqa: F401, F403, E402
from gui.words_review import *  # noqa: F401, F403, E402
from gui.words_map import *  # noqa: F401, F403, E402
