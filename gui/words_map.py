"""The dataset map's words: the Data tab's "Map" view and its link from Evaluate (read through gui.words)."""

SUBTAB_MAP = "Map"
MAP_INTRO = (
    "See the whole dataset at once: every picture is a dot, placed by what the model sees in it, so pictures that "
    "look alike sit together and each class should form its own island. A dot inside another class's island may be "
    "in the wrong folder; a class in two islands may hold two kinds of picture. **Click** a dot to see its picture; "
    "**drag a lasso** around dots to see them all. Move or set aside what is wrong: every change can be undone. "
    "**Undo** takes back the last change to the dataset folder, even one made in *Find problems* (pictures moved "
    "together go back together), or the last picture you called *Not a problem*.")
MAP_RUN = "Trained run (optional)"
MAP_RUN_INFO = "A run adds its mistakes and 'not sure' answers to the map."
MAP_NO_RUN = "None: only what the pretrained model sees"
MAP_FEATURES = "Place the pictures by"
MAP_FEATURE_CHOICES = [("what the pretrained model sees", "backbone"), ("what the chosen run learned", "run")]
MAP_METHOD = "Way of drawing"
MAP_METHOD_CHOICES = [("Groups of look-alikes (t-SNE, recommended)", "tsne"), ("Quick overview (PCA)", "pca")]
MAP_METHOD_INFO = "Groups of look-alikes take seconds to a minute, depending on how many pictures there are."
MAP_DRAW = "Draw the map"
MAP_NOT_DRAWN = "No map drawn yet"
MAP_DRAWN = "Drew {count} pictures in {seconds:.1f} s"
MAP_STOPPED = "Stopped: a newer map was asked for"
MAP_NOT_MADE = "No map was drawn"
MAP_LABEL = "Dataset map"
MAP_THIS_RUN = "See this run on the dataset map"

# The figure (gui.map_chart)
MAP_NO_FLAG = "nothing unusual"
MAP_FLAG_LEGEND = {"suspect": "may be in the wrong class", "outlier": "unlike its class",
                   "duplicate": "near-copy", "mistake": "the run's mistake", "not_sure": "the run is not sure",
                   "test": "test picture", "kept": "kept from use"}
MAP_CLASS_UNKNOWN = "class not known"  # a kept picture whose class its owner has not said (or said is none)
MAP_CLASS_UNKNOWN_ANSWER = "class not known; the model answered {predicted} ({confidence:.0%})"
MAP_KEPT_UNKNOWN_LEGEND = "kept, class not known"
MAP_HOVER = "<b>{cls}</b><br>{name}<br>{flags}"

# Under the map
MAP_GROUPS = ("**{cls}** forms {count} separate groups on the map ({sizes} pictures): perhaps two kinds of picture "
              "under one name. Click a dot of each to compare.")
MAP_STRAYS = ("**{count} picture(s) of {cls}** sit among **{among}**: they may be in the wrong folder, or the two "
              "classes look alike.")
MAP_NO_FACTS = "Each class keeps to its own part of the map: no stray pictures or split classes found."
MAP_PCA_FACTS = ("PCA keeps only the broadest differences, so nearness on this map says little about likeness: "
                 "draw with t-SNE to find stray pictures and split classes.")
MAP_SAMPLED = ("Laid out {laid_out} of {total} pictures; the rest were placed beside their most alike pictures.")
MAP_AGREEMENT = ("On the map, {map:.0%} of a picture's nearest neighbours share its class ({features:.0%} in what the "
                 "model sees): the higher, the better the classes keep apart.")
MAP_FLAG_COUNTS = "Marked: {counts}."
MAP_FLAG_COUNT_WORDS = {"suspect": "{count} may be in the wrong class", "outlier": "{count} unlike their class",
                        "duplicate": "{count} near-copies", "mistake": "{count} the run gets wrong",
                        "not_sure": "{count} the run is not sure of", "test": "{count} test pictures",
                        "kept": "{count} kept from use"}
MAP_SKIPPED = "{count} file(s) could not be read and are not on the map."

# A clicked picture
MAP_PICTURE = "The clicked picture"
MAP_PICKED = "**{name}**: class **{cls}**, {split}."
MAP_PICKED_UNKNOWN = "**{name}**: {cls}, {split}."
MAP_SPLIT_WORDS = {"train": "a training picture", "valid": "a validation picture",
                   "test": "a test picture (never used in training)", "kept": "kept from use, not in the dataset"}
MAP_FLAG_MEANINGS = {
    "suspect": "It looks more like **{suggested}** ({probability:.0%} sure): it may be in the wrong folder.",
    "outlier": "It is unlike the rest of its class (it looks closest to {nearest_class}).",
    "duplicate": "It is a near-copy of other pictures (group {group}).",
    "mistake": "The run gets it wrong.",
    "not_sure": "The run is not sure of it.",
    "test": "It is kept apart to test the model, never trained on.",
    "kept": "It was kept from use (a picture the model was shown)."}
MAP_NO_FLAGS = "Nothing unusual was found about it."
MAP_RUN_ANSWER = "The run answers **{predicted}** ({confidence:.0%})."
MAP_KEPT_ELSEWHERE = "Kept pictures are not part of the dataset: file this one in the **7. Review** tab."
MAP_KEPT_NOT_HERE = "Kept pictures are not part of the dataset and are not shown here."
MAP_HIDDEN = "{name} lies outside the folders this app serves, so it is not shown and cannot be changed here."
MAP_CLICK_FIRST = "Click a dot on the map first."
MAP_MOVE_TO = "Move it to class"
MAP_MOVE = "Move"
MAP_SET_ASIDE = "Set aside"
MAP_KEEP = "Not a problem"
MAP_PICK_CLASS = "Pick one of the dataset's classes first."
MAP_MOVED = "Moved {name} from {source} to {to}."
MAP_SET_ASIDE_DONE = "Set {name} aside: it is out of {source}, kept on disk in the set-aside folder."
MAP_KEPT = "{name} is fine as it is: it is no longer marked as a problem."
MAP_ALREADY = "{name} is already in {to}."

# A lasso or box selection
MAP_SELECTION = "Selected pictures"
MAP_SELECTED = "{count} picture(s) selected{shown}."
MAP_SHOWN_FIRST = " (the first {shown} shown; actions apply to all)"
MAP_SELECTED_KEPT = " {count} kept picture(s) among them are left alone: file them in the **7. Review** tab."
MAP_SELECTED_KEPT_NOT_HERE = " {count} kept picture(s) among them are left alone."
MAP_SELECTED_HIDDEN = " {count} lie outside the folders this app serves and are left alone."
MAP_SELECT_FIRST = "Drag a lasso around dots on the map first."
MAP_CAPTION = "{cls} · {name}"
MAP_ALL_TO = "Move all to class"
MAP_MOVE_ALL = "Move all to {cls}"
MAP_MOVE_ALL_NONE = "Move all to…"
MAP_SET_ASIDE_ALL = "Set aside all"
MAP_MOVED_ALL = "Moved {count} picture(s) to {to}.{already}"
MAP_ALREADY_ALL = " (Already in {to}, left as they were: {count}.)"
MAP_SET_ASIDE_ALL_DONE = "Set {count} picture(s) aside, kept on disk in the set-aside folders."
MAP_NOTHING_TO_CHANGE = "None of the selected pictures can be changed here."
MAP_ALL_ALREADY = "All the selected pictures are already in {to}: nothing to move."

# Undo
MAP_UNDO = "Undo the last change to the dataset folder"
MAP_UNDONE = "Undone: {count} picture(s) put back where they were."
MAP_UNDONE_KEEP = "Undone: {name} is marked again."
