"""Hand labels: label sheets (CSV, JSONL, Label Studio), the choice of papers worth labelling, the labelling page."""

from paper_areas.hand_labels.selection import RANDOM_SHARE, Pool, choose, text_features
from paper_areas.hand_labels.sheets import (
    SKIPPED,
    SUGGESTION_SEPARATOR,
    HandLabels,
    Row,
    Sheet,
    SheetError,
    label_studio_config,
    read_hand_labels,
    read_sheet,
    sheet_format,
)

__all__ = ["RANDOM_SHARE", "SKIPPED", "SUGGESTION_SEPARATOR", "HandLabels", "Pool", "Row", "Sheet", "SheetError",
           "choose", "label_studio_config", "read_hand_labels", "read_sheet", "sheet_format", "text_features"]
