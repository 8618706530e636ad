"""The words of learning from use: keeping (Settings) and the Review tab (read through gui.words)."""

TAB_REVIEW = "7. Review"
REVIEW_INTRO = (
    "## The pictures your model was shown\n"
    "When *Keep the pictures the model is shown* is on (Settings), every picture it answers is kept here: from "
    "Predict, the webcam, a folder, the demo view and its links, the HTTP endpoint. The ones most worth a look "
    "come first: those it was not sure of, then those where its top two answers were close, then those unlike "
    "anything it learned from. Say what each one really is: pictures you file go into the dataset's training "
    "folders, and **Train again** teaches the model with them.")
REVIEW_OFF = ("Keeping is **off**: nothing new is kept. Turn it on in Settings (or start with "
              "`--keep-predictions`).")
REVIEW_ON = "Keeping is **on**: {count} picture(s) kept, {mb:.1f} MB of at most {cap} MB (the oldest go first)."
REVIEW_RUN = "Pictures answered by"
REVIEW_ALL_RUNS = "Every run"
REVIEW_REFRESH = "Refresh"
REVIEW_GALLERY = "Kept pictures, most worth a look first"
REVIEW_NONE = "No picture kept yet."
REVIEW_TICKED = "Ticked pictures (click a picture to tick or untick it)"
REVIEW_CAPTION = "{mark}{label} {confidence:.0%} · {source}{verdict}"
REVIEW_NOT_SURE_MARK = "not sure: "
REVIEW_VERDICT_MARKS = {"right": " · ✓ right", "labelled": " · filed as {truth}", "unknown": " · none of these"}
REVIEW_SOURCES = {"predict": "Predict", "demo": "demo view", "link": "shared link", "webcam": "webcam",
                  "folder": "folder", "api": "HTTP"}
REVIEW_PICTURE = "The picture"
REVIEW_FACTS = ("**{label}** ({confidence:.0%}){not_sure}, then {others}. From {source}, {when}, answered by "
                "{run}.{verdict}")
REVIEW_FACTS_NOT_SURE = ", *not sure*"
REVIEW_FACTS_VERDICT = " You said: **{verdict}**."
REVIEW_VERDICT_WORDS = {"right": "right", "labelled": "it is {truth}", "unknown": "not any of these"}
REVIEW_RIGHT = "Right"
REVIEW_IT_IS = "It is"
REVIEW_NEW_CLASS = "...or a new class"
REVIEW_FILE = "File as this class"
REVIEW_UNKNOWN = "Not any of these"
REVIEW_DELETE = "Delete"
REVIEW_UNDO = "Undo the last filing"
REVIEW_PICK_FIRST = "Tick a picture first (click it in the gallery)."
REVIEW_PICK_CLASS = "Choose the class it really is (or type a new one)."
REVIEW_DONE_RIGHT = "Marked {count} picture(s) as answered right."
REVIEW_DONE_UNKNOWN = "Marked {count} picture(s) as not any of these classes (kept aside, not trained on)."
REVIEW_DONE_DELETE = "Deleted {count} kept picture(s)."
REVIEW_DONE_FILED = ("Filed {count} picture(s) as {truth} in {folder}; the dataset's change list has them and "
                     "*Undo the last filing* takes one back.")
REVIEW_NO_DATASET = "The run {run} trained on {data}, which is not a folder this app may change."
REVIEW_UNDONE = "Undone: {name} is out of the dataset again and waits for review."
REVIEW_NOTHING_TO_UNDO = "No filing to undo."
REVIEW_TRAIN_HEADING = "### Train again with them"
REVIEW_TRAIN_RUN = "Run to teach"
REVIEW_TRAIN_EPOCHS = "More epochs"
REVIEW_TRAIN = "Train again"
REVIEW_TRAIN_WAITING = "{count} filed picture(s) wait to be learned by {run}."
REVIEW_TRAIN_NONE = "No filed picture waits for {run}: file some above first."
REVIEW_REPORT_HEADING = "### How it does in the field"
REVIEW_REPORT = ("Of the {reviewed} picture(s) you reviewed, it had **{right}** right (**{accuracy:.0%}**), "
                 "against **{valid:.0%}** on its validation pictures.{unknown}")
REVIEW_REPORT_NO_VALID = ("Of the {reviewed} picture(s) you reviewed, it had **{right}** right "
                          "(**{accuracy:.0%}**).{unknown}")
REVIEW_REPORT_UNKNOWN = " {count} were none of its classes."
REVIEW_REPORT_NONE = "Review some pictures to see how it does in real use."
REVIEW_NOT_SURE_RATES = ("Recent pictures: *not sure* for {recent:.0%} of them, against {valid:.0%} of its "
                         "validation pictures.")
REVIEW_UNLIKE = ("**The pictures it is shown now are unlike the ones it learned from**: review them and train "
                 "again.")
REVIEW_CHART_TITLE = "Share answered right, reviewed pictures"
REVIEW_CHART_AXIS = "share right"
REVIEW_CHART_FIELD, REVIEW_CHART_VALID = "in use", "validation"
REVIEW_CLASS_COLUMNS = ["class", "reviewed", "right", "share right"]
SETTINGS_KEEP_HEADING = "### Learn from use"
SETTINGS_KEEP = "Keep the pictures the model is shown"
SETTINGS_KEEP_INFO = ("For review in the Review tab: Predict, the webcam (at most one frame a second), a folder, the "
                      "demo view and its links, the HTTP endpoint. Kept apart from every dataset, with their "
                      "metadata (such as GPS) removed. Visitors are told.")
SETTINGS_KEEP_CAP = "At most (MB)"
SETTINGS_KEEP_SAVE = "Save"
SETTINGS_KEEP_DELETE = "Delete all kept pictures"
SETTINGS_KEEP_SAVED_ON = "Keeping is on: at most {cap} MB, the oldest pictures go first."
SETTINGS_KEEP_SAVED_OFF = "Keeping is off: nothing new is kept (what was kept stays until you delete it)."
SETTINGS_KEEP_FORCED = " This start keeps pictures whatever the setting (--keep-predictions)."
SETTINGS_KEEP_DELETED = "Deleted {count} kept picture(s)."
REVIEW_GONE = "That picture is no longer kept (deleted, or the oldest made room for newer ones)."
REVIEW_FILED_FIRST = ("{count} of the ticked picture(s) are filed in the dataset already: *Undo the last filing* "
                      "first, or untick them.")
REVIEW_UNDO_TRAINING = "{run} is training on that dataset now; undo the filing once it has ended."
REVIEW_NO_OTHERS = "no other class"
REVIEW_TRAIN_NEW_CLASSES = (" {count} filed picture(s) are of classes {run} does not know ({classes}): a new run on "
                            "the dataset learns those.")
REVIEW_NO_SHARE = "no picture"
