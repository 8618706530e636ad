"""Every word the app shows a person, in one place, so that wording is changed (or reviewed) without reading logic.

Plain constants and `str.format` templates with named fields; the tabs keep the logic that picks and fills them.
"""
from __future__ import annotations

WARN = "⚠️ {}"  # a problem the user can act on, said in one sentence

# The page
APP_TITLE = "Transfer Studio"
APP_INTRO = "# Transfer Studio\nTeach a pretrained image model your own classes: pick data, train, try it."
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
CHECKING = "Checking images: {done}/{total}"
READING = "Reading images through the frozen backbone: {done}/{total}{cached}"
FROM_CACHE = " ({cached} from the cache)"
EPOCH_STEP = "Epoch {epoch}/{epochs}{stage} · step {step}/{total}"
IN_STAGE = " (stage {stage}: {name})"
SWEEPING = "Sweeping learning rates: {step}/{total}"
IMAGES_PER_S = "{rate:.0f} img/s"
HEAD_ON_CACHED = "the head trains on cached features"
ETA = "ETA {duration}"
RUN_ETA = "ETA {duration} for the whole run"
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
CHECK_INTRO = ("Pick a folder of images: one subfolder per class (the app holds some out for validation), "
               "or `train/` and `valid/` folders with one subfolder per class inside each.")
DATASET_FOLDER = "Dataset folder"
DATASETS_FOUND = "Datasets found in {root}"
LOOK_AGAIN = "Look again"
VALID_SHARE = "Validation share (%)"
VALID_SHARE_INFO = ("Only for folders without valid/: this share of each class is held out to measure accuracy, "
                    "the same images every time.")
IMAGES_PER_CLASS = "Images per class"
SKIPPED_FILES = "Skipped files"
SKIPPED_FILES_COUNT = "Skipped files ({count})"
SKIPPED_NONE = "none"
SKIPPED_HEADERS = ["file", "why it is skipped"]
THUMBNAILS = "A few training images per class"
NOT_CHECKED = "Not checked"
CHECKED = "Checked {files} files"
LAYOUT_WORDS = {
    "split": "**train/ and valid/ folders**",
    "train-only": "a **train/ folder without valid/**: {pct} of each class is held out for validation "
                  "(the same images every time, seed {seed})",
    "flat": "**one folder per class**: {pct} of each class is held out for validation "
            "(the same images every time, seed {seed})",
}
FOUND = ("Found {layout}. **{count} classes**: {classes}.\n\n"
         "{totals} · {skipped} · checked {files} files in {seconds:.1f} s{remembered}.")
SPLIT_TOTAL = "{split}: {images} images"
REMEMBERED = ", {count} remembered from an earlier check"
FILES_SKIPPED = "**{count} files skipped** (listed below)"
NO_FILE_SKIPPED = "no file skipped"
NO_PROBLEMS = "✅ **No problems found.** The data looks ready to train."
WARNINGS_HEADING = "### ⚠️ {count} thing(s) worth a look"
WARNING_LINE = "- **{title}**: {message}"
WARNING_EXAMPLES = "  e.g. {examples}"
WARNING_TITLES = {
    "leakage": "Same picture in training and validation",
    "label_conflict": "Same picture in two classes",
    "duplicates": "Identical copies",
    "near_duplicates": "Nearly identical pictures",
    "missing_in_valid": "Classes without validation images",
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

# Model tab
MODEL_INTRO = "One click on Train works: the recipe below is chosen from your data. Change anything to experiment."
BACKBONE = "Backbone"
BACKBONE_INFO = "Pretrained on ImageNet; the small CNN from scratch is the baseline that shows what pretraining buys."
HEAD = "New head"
WHAT_TRAINS = "What trains"
FREEZE_AUTO = "Automatic: picked from your data and this computer (recommended)"
EPOCHS = "Epochs (0: automatic)"
STAGE1_EPOCHS = "Head-only epochs of two-stage (0: automatic)"
LEARNING_RATE = "Learning rate of the head (0: automatic)"
RECIPE_PLACEHOLDER = "Recipe: choose a dataset in the Data tab to see what one click will train."
ADVANCED = "Advanced settings"
OPTIMIZER, SCHEDULE, BALANCE = "Optimizer", "Learning-rate schedule", "Imbalanced classes"
BALANCE_CHOICES = {"auto": "Automatic", "none": "Off", "weights": "Weigh the loss",
                   "sampler": "Draw rare classes more often"}
WEIGHT_DECAY, LABEL_SMOOTHING, BATCH = "Weight decay", "Label smoothing", "Batch size"
IMAGE_SIZE = "Image size (pixels, multiple of 32)"
PATIENCE = "Early stopping: epochs without improvement (0: never)"
HIDDEN, DROPOUT, SEED = "Hidden units (MLP heads)", "Dropout", "Seed (same seed, same curves)"
AUGMENTATION = "Augmentation"
AUGMENT_CHOICE = "{name}: {text}"
AUGMENTATION_INFO = ("Applied to every training image each epoch while the backbone trains; a frozen backbone instead "
                     "reads a few augmented versions of each image once and keeps them.")
VIEWS = "Frozen backbone: versions of each training image, original included (0: automatic, 1: no augmentation)"
WEIGHTS_MISSING = "{sentence}; or pick a bundled backbone."  # the sentence is core's BackboneSpec.missing_weights()

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

# Train tab
START_TRAINING, TRAINING_BUTTON, STOP = "Start training", "Training…", "Stop"
COMPARE_SCRATCH = ("Afterwards, also train a small CNN from scratch on the same images and draw its curves on "
                   "these charts (shows what the pretrained backbone buys; takes a few minutes more)")
LOG = "Log"
TERMINAL = "The same run from a terminal"
TERMINAL_PLACEHOLDER = "# Start a run to see its command line."
TORCHRUN_COMMENT = "# data-parallel, one process per GPU (or per group of CPU cores):"
TRAINING = "Training…"
RUN_STARTED = ("Run {run_id}: {classes} classes, {train} training and {valid} validation images, {mode} on "
               "{device}.")
EPOCH_LINE = ("Epoch {epoch}: train loss {train_loss:.3f}, acc {train_acc:.1%} · valid loss {valid_loss:.3f}, "
              "acc {valid_acc:.1%}{best}")
BEST_SO_FAR = " (best so far, saved)"
RUN_ENDED = ("{verb} after {epochs} epoch(s) in {seconds:.0f} s: the best model got {acc:.1%} of the validation "
             "images right (epoch {best_epoch}). It is saved as run {run_id}; try it in the Predict tab.")
RUN_SKIPPED = " {count} file(s) skipped (see the Data tab)."
STOPPED_UNCHECKED = "Stopped before the model could be checked on the validation images; nothing was saved."
SCRATCH = "From scratch"
SCRATCH_LOG = "From scratch: {line}"
SCRATCH_NEXT = " Now training a small CNN from scratch on the same images, for comparison…"
SCRATCH_ENDED = ("For comparison, the small CNN trained from scratch on the same images reached {acc:.1%} "
                 "(epoch {best_epoch}, {seconds:.0f} s).")
SCRATCH_ENDED_EARLY = SCRATCH_ENDED.removesuffix(".") + ", stopped early."
SCRATCH_STOPPED_EARLY = "The from-scratch comparison was stopped before its first epoch ended."
SCRATCH_FAILED = "{status} ⚠️ The from-scratch comparison failed: {kind}: {error}."
TRAINING_FAILED = "⚠️ Training failed: {kind}: {error}. The best checkpoint saved so far is kept."
NOTHING_TRAINING = "Nothing is training."
STOPPING = "Stopping after the current step…"

# Predict tab
NEWEST_RUN = "Newest run"
TRAINED_RUN = "Trained run"
DROP_IMAGES = "Drop one or more images here"
PASTE_IMAGE, PREDICTION = "…or paste a single image", "Prediction"
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

# Runs tab
TAB_RUNS = "6. Runs"
RUNS_INTRO = ("Every run in one table: open one to see its curves, name it, train it further or delete it; put several "
              "side by side; compare two picture by picture; export one, or save chosen runs as a project.")
DATASET_FILTER, ALL_DATASETS = "Dataset", "All datasets"
RUNS_REFRESH = "Re-read the runs folder"
RUNS_TABLE = "Runs (click a header to sort, a row to open that run)"
RUNS_COLUMNS = ["date", "name", "dataset", "backbone", "recipe", "epochs", "best valid acc (%)", "training time (s)",
                "status", "note", "run"]
OPEN_RUN = "Open a run"
SEVERAL_RUNS = "Runs side by side (also what Save project saves)"
RUN_CHOICE = "{name} · {dataset} · {acc} · {status}"
NOT_VALIDATED = "not validated"
SUBTAB_THIS_RUN, SUBTAB_SIDE_BY_SIDE = "This run", "Side by side"
SUBTAB_PICTURES, SUBTAB_SHARE = "Picture by picture", "Export and share"
PICK_A_RUN = "Pick a run first."
RUN_HEADLINE = "**{name}**{run_id} · {dataset} · {status} · {epochs} epoch(s) · best validation accuracy {acc}"
RUN_ID_PART = " · run {run_id}"
RUN_FAILED_HINT = "\n\nThis run did not end normally: *Resume* carries it on from its last saved epoch."
RUN_NAME, RUN_NOTE, SAVE_LABEL = "Name", "Note", "Save name and note"
LABEL_SAVED = "Saved the name and note of {run_id}."
RUN_CONFIG = "Its settings (config.json)"
RUN_EVALUATED = "**{split}**: {images} images · accuracy **{accuracy:.1%}** · balanced accuracy {balanced:.1%}"
RUN_EVALUATED_OLD = " (from before the model last changed: evaluate it again in the Evaluate tab)"
RUN_NOT_EVALUATED = "Not evaluated yet: the Evaluate tab judges it image by image."
TRAIN_EACH_EPOCH, EPOCH_AXIS = "train (each epoch)", "epoch"
CONTINUED_MARK = "continued here"
OVERLAY_ACCURACY, OVERLAY_LOSS = "Validation accuracy per epoch", "Validation loss per epoch"
DELETE = "Delete this run"
DELETE_YES = "Yes, delete {run_id}"
DELETE_ASK = "Delete run {run_id} with its model and results? This cannot be undone: click *Yes, delete {run_id}*."
DELETE_TRAINING = "{run_id} is training now; stop it before deleting it."
DELETE_NOTHING = "Click Delete first."
DELETED = "Deleted run {run_id}."
MORE_EPOCHS = "More epochs"
CONTINUE_TRAINING, RESUME = "Continue training", "Resume a failed run"
MORE_EPOCHS_WHOLE = "Say how many more epochs, as a whole number of at least 1."
ALREADY_TRAINING = "{run_id} is training now; wait until it ends (or stop it) before training it further."
CONTINUED_ENDED = ("{verb}: run {run_id} has now trained {epochs} epoch(s); its best model got {acc:.1%} of the "
                   "validation images right (epoch {best_epoch}).")
COMPARE_INTRO = ("Two runs on the same pictures: which ones B gets right that A got wrong, and the reverse. Each run "
                 "is evaluated first if it has not been.")
RUN_A, RUN_B, COMPARE_BUTTON = "Run A", "Run B", "Compare"
COMPARE_SAME = "Pick two different runs."
COMPARE_SENTENCE = ("{run_a} {acc_a} → {run_b} {acc_b} on {images} {split}: **{fixed} picture(s) now right, "
                    "{broken} now wrong**; {both_wrong} wrong under both.")
NO_PICTURES = "no pictures"
COMPARE_CLASS_COLUMNS = ["class", "pictures", "A accuracy (%)", "B accuracy (%)", "change (points)"]
COMPARE_CONFIG_COLUMNS = ["setting", "A", "B"]
COMPARE_SETTINGS = "Settings that differ"
SAME_SETTINGS = "(the same settings)"
NOW_RIGHT, NOW_WRONG = "Now right (A was wrong, B is right)", "Now wrong (A was right, B is wrong)"
CHANGE_CAPTION = "true {true} · A said {a} ({pa:.0%}) · B said {b} ({pb:.0%})"
COMPARE_HIDDEN = "{count} changed picture(s) lie outside the folders this app serves, so only their names are listed: {names}"
EXPORT_INTRO = ("**Export the opened run** as one .zip with a standalone predict.py: checked first to give the "
                "app's answers on every validation picture, else nothing is written.")
EXPORT_FORMATS = [("ONNX", "onnx"), ("TorchScript", "torchscript")]
EXPORT_FORMATS_LABEL, EXPORT_BUTTON, EXPORT_FILE = "Formats", "Export", "The exported run (.zip)"
EXPORT_ENGINES = {"onnx": "ONNX Runtime", "torchscript": "TorchScript"}
AND = " and "
EXPORT_NO_FORMAT = "Tick at least one format."
PARITY = ("{engines} agree with the app on {agreed} of {images} validation pictures; largest probability "
          "difference {diff:.6f}.")
EXPORTED = "Exported {name} ({size}). {parity}"
MEGABYTES = "{mb:.1f} MB"
PROJECT_INTRO = ("**Project**: the runs chosen above, with every picture they used, in one .zip that another copy "
                 "of this app opens with their curves, evaluations and calibration.")
PROJECT_SAVE, PROJECT_FILE = "Save project", "The project (.zip)"
PROJECT_UPLOAD, PROJECT_OPEN = "A project .zip to open", "Open project"
PROJECT_NO_RUNS = "Choose the runs to save in *Runs side by side* first."
PROJECT_NO_FILE = "Upload a project .zip first."
PROJECT_SAVED = "Saved {runs} run(s) and {images} picture(s) ({size}).{missing}"
PROJECT_MISSING = " {count} picture(s) were no longer on disk and are not in it."
PROJECT_OPENED = "Opened {count} run(s): {runs}. Their pictures are in {datasets}.{left_out}"
PROJECT_LEFT_OUT = " Left out {count} item(s): {examples}"

# Sharing
DEMO_TITLE = "Transfer Studio demo"
DEMO_PICTURE = "Drop or paste a picture"
DEMO_INTRO = ("# Transfer Studio demo\nDrop pictures to see what the shared model answers; nothing you drop is "
              "kept or used to train.")
DEMO_NO_RUN = ("The owner of this app has not shared a trained model yet: they mark a run as shared in the Runs tab "
               "of the full app.")
NOT_SHARED = "The run {run_id!r} is not shared in this demo."
SHARED_RUN = "Shared model"
DEMO_PREDICT, DEMO_EVALUATE = "Predict", "How good it is"
DEMO_EVALUATE_INTRO = ("How well the shared model does on pictures it did not learn from: its figures per class and "
                       "which classes it mixes up (the pictures themselves stay private).")
PUBLIC_LINK = "Public link: anyone who has it sees this page"
PUBLIC_LINK_LASTS = ("The public link lasts {lasts} (while this app keeps running); visitors see {view}. "
                     "Copy it with the button beside it.")
SHARE_LASTS = "up to 1 week"
SHARE_FAILED = ("The public link could not be created because Gradio's share server cannot be reached "
                "from this computer (no internet connection), so the app is only available at {url}.")
VIEW_NAMES = {"demo": "the demo view (predict and evaluate the shared runs only)",
              "full": "the full app (data, training, every run)"}
EXPOSED = "This app listens on {host}, so other computers can reach it: it serves {view}, {protection}."
PROTECTED = "protected by a password"
UNPROTECTED = "with no password"
SHARE_DEMO_NOTE = ("The public link serves {view}; for the full app behind a password start with --auth "
                   "user:password or set a password in Settings.")
AUTH_BAD = "--auth takes user:password (got something without a colon or with an empty user name or password)."
AUTH_FILE_BAD = "Line {line} of {path} is not user:password."
AUTH_FILE_MISSING = "The password file {path} cannot be read: {reason}."
LOGIN_MESSAGE = "Transfer Studio: log in with the user name and password the owner gave you."
SHARE_IN_DEMO = "Share in the demo view"
SHARE_IN_DEMO_INFO = "When no run is ticked, the demo view shows the newest finished run."
SHARED_ON = "{run_id} is shown in the demo view (from the next page load)."
SHARED_OFF = "{run_id} is no longer shown in the demo view."
TAB_SETTINGS = "7. Settings"
SETTINGS_INTRO = ("**Password**: set one to open the full app to others behind a login (also through `--share`). "
                  "It takes effect the next time the app starts; only a salted hash of it is kept, in {path}.")
SETTINGS_USER, SETTINGS_PASSWORD, SETTINGS_REPEAT = "User name", "Password", "Password again"
SETTINGS_SAVE, SETTINGS_CLEAR = "Set password", "Remove password"
PASSWORD_MISMATCH = "The two passwords differ; type them again."
PASSWORD_SAVED = "Password set for {user}: the next start of the app asks for it."
PASSWORD_CLEARED = "Password removed: the next start of the app asks for none (and --share serves the demo view)."
PASSWORD_NONE = "No password was set."
PASSWORD_IS_SET = "A password is set: the app asks for it (from its next start if it was set just now)."
PASSWORD_NOT_SET = "No password is set."
REST_LOGIN = "Log in first: this app is protected by a password (POST user name and password to /login)."

# Visitors: one training at a time per app, and bounded uploads
PLACES = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
PLACE_NUMBER = "number {place}"
IN_LINE = "{place} in line, {wait}"
WAIT_MINUTES = "about {minutes} min"
WAIT_UNDER_MINUTE = "under a minute"
QUEUED = ("Another training is running in this app; this one starts when those ahead of it end ({in_line}). "
          "Stop leaves the line.")
LEFT_LINE = "Left the line before starting: nothing was trained."
TOO_MANY_FILES = "{count} files at once; at most {most} are accepted in one drop. Drop them in smaller batches."
TOO_MANY_PIXELS = "{name} declares too many pixels (possibly a decompression bomb); it was not opened."

# Start-up
MARKED_FAILED = ("Run {run_id} was left running by a process that ended without closing it (killed or crashed): "
                 "it is marked failed; resume it in the Runs tab.")
LR_WHILE_TRAINING = ("A training is running in this app: the learning-rate finder trains too and would slow it down "
                     "(and be slowed down); try again when it has ended.")

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
NOTHING_TO_UNDO = "There is no change to undo."
NO_CHANGES = "No change made to the folders yet."
CHANGES = "**Changes made to the folders ({count})**, newest first:"
CHANGE_LINE, CHANGE_UNDONE = "- {what}", "- ~~{what}~~ (undone)"
CHANGE_KINDS = {"move": "{name} moved from `{source}` to `{target}`",
                "set_aside": "{name} set aside from `{source}` to `{target}`"}
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
