"""`train.py init-taxonomy` (a first taxonomy from an area table), `train.py suggest` (candidate keywords) and
`train.py lfs` (how good the labelling functions are). Only a command that runs imports the labelling stack (snorkel,
torch): `train.py` builds its parser with the argument definitions before training."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from paper_areas.pipeline.config import DEFAULT_TAXONOMY

SUGGESTION_BASES = ("auto", "votes", "description")  # labeling.suggest.BASES, without importing the labelling stack
WIDTH = 120


def _add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dumps", nargs="+", required=True, metavar="PATH", help="dumps to label")
    parser.add_argument("--taxonomy", default=str(DEFAULT_TAXONOMY), metavar="YAML",
                        help="taxonomy of areas and keywords (default: configs/taxonomies/iclr2025.yaml)")


def add_lfs_arguments(parser: argparse.ArgumentParser) -> None:
    _add_common_arguments(parser)
    parser.add_argument("--gold", metavar="GOLD.jsonl", help="labelled papers: LF accuracies, LM vs majority vote")
    parser.add_argument("--json", metavar="OUT.json", help="write the figures as JSON")
    parser.add_argument("--csv", metavar="OUT.csv",
                        help="the LF table as CSV (default: beside --json as <name>.lf_table.csv, else lf_table.csv)")


def add_suggest_arguments(parser: argparse.ArgumentParser) -> None:
    _add_common_arguments(parser)
    parser.add_argument("--area", required=True, metavar="SLUG", help="the area to suggest keywords for")
    parser.add_argument("--top", type=int, default=20, help="number of candidates (default: 20)")
    parser.add_argument("--basis", choices=SUGGESTION_BASES, default="auto",
                        help="whose papers stand for the area: the label model's (votes), the ones nearest its "
                             "description, or auto: votes unless they give the area under 3 papers")


def add_init_taxonomy_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--areas", required=True, metavar="AREAS.csv",
                        help="CSV with a header and columns name, description (and optionally slug), one area a row")
    parser.add_argument("--name", required=True, help="the taxonomy's name (models carry it)")
    parser.add_argument("--output", required=True, metavar="TAXONOMY.yaml", help="the YAML to write")
    parser.add_argument("--force", action="store_true", help="overwrite --output if it exists")


def run_init_taxonomy(args: argparse.Namespace) -> int:
    """Write a taxonomy YAML with one keyword group per area (its name) from the area table; --force overwrites."""
    from labeling.scaffold import read_area_table, scaffold_taxonomy
    from labeling.taxonomy import TaxonomyError
    from paper_areas.core import check_output_path, write_output

    output = Path(args.output)
    check_output_path(output, [args.areas])
    if output.exists() and not args.force:
        raise TaxonomyError(f"{output}: already exists (pass --force to overwrite it)")
    areas = read_area_table(args.areas)
    write_output(output, scaffold_taxonomy(args.name, areas, source=args.areas))
    print(f"wrote {output}: taxonomy {args.name!r}, {len(areas)} areas ({', '.join(a['slug'] for a in areas)}), "
          "each with one keyword group: its name")
    print(f"next: python train.py suggest --taxonomy {output} --dumps DUMP... --area {areas[0]['slug']}")
    return 0


def run_lfs(args: argparse.Namespace) -> int:
    """Print the LF table, votes per area (on gold when given: LF accuracies show) and, with gold, label model vs
    majority vote; write CSV and JSON."""
    from labeling import apply_lfs, area_coverage, covered, keyword_lfs, lf_table, load_taxonomy
    from labeling.label_model import MIN_LABEL_MODEL_LFS, LabelModelLabeler, MajorityVoteLabeler
    from paper_areas.core import write_output
    from paper_areas.pipeline.config import LabelModelConfig
    from paper_areas.pipeline.data import read_gold, read_papers
    from paper_areas.pipeline.weak_labels import Votes, choose_labeler

    csv_path, json_path = _lfs_outputs(args)
    taxonomy = load_taxonomy(args.taxonomy)
    lfs = keyword_lfs(taxonomy)
    frame = read_papers(args.dumps)
    votes = apply_lfs(lfs, frame)
    gold = read_gold(args.gold, taxonomy) if args.gold else None
    gold_votes = apply_lfs(lfs, gold.frame) if gold else None
    y = gold.y if gold else None
    choice = choose_labeler(Votes(lfs, votes, gold_votes), LabelModelConfig(), taxonomy.names, y)
    analysed = votes if gold_votes is None else gold_votes
    table = lf_table(analysed, lfs, y)
    areas = area_coverage(analysed, lfs, taxonomy.slugs, y)
    is_covered = covered(votes)
    on = f"the {len(analysed)} {'gold ' if gold else ''}papers"

    print(f"{len(lfs)} labelling functions of taxonomy {taxonomy.name!r} ({len(taxonomy.areas)} areas), on {on}")
    print(_fit(table))
    print(f"\nvotes per area, on {on}")
    print(_fit(areas))
    print(f"\n{len(frame)} papers in the dumps: {int(is_covered.sum())} with votes ({is_covered.mean():.1%}), "
          f"{int((~is_covered).sum())} without (dropped from training)")
    if not choice.label_model_rows:
        print(f"\n{len(lfs)} labelling functions: majority vote gives the labels (the label model needs at least "
              f"{MIN_LABEL_MODEL_LFS})")
    if gold:
        compared = " vs ".join(labeler.NAME.replace("_", " ") for labeler in choice.fitted)
        print(f"\n{compared} on {on} (abstains count as wrong); selected: {choice.labeler.NAME}")
        scores = pd.DataFrame({name: s.summary() for name, s in choice.gold_scores.items()}).T
        print(_fit(scores.rename_axis("predictor").reset_index()))

    write_output(csv_path, table.to_csv(index=False))
    print(f"\nLF table written to {csv_path}")
    if json_path:
        report = {
            "n_papers": len(frame),
            "n_covered": int(is_covered.sum()),
            "coverage": float(is_covered.mean()),  # read_papers refuses dumps without papers
            "gold": None if gold is None else {"path": args.gold, "n_papers": len(gold.frame),
                                                "coverage": float(covered(gold_votes).mean())},
            "selected": choice.labeler.NAME if gold else None,
            **{name: score.summary() if (score := choice.gold_scores.get(name)) else None
               for name in (LabelModelLabeler.NAME, MajorityVoteLabeler.NAME)},
            "areas": json.loads(areas.to_json(orient="records")),
            "lfs": json.loads(table.to_json(orient="records")),
        }
        write_output(json_path, json.dumps(report, indent=2) + "\n")
        print(f"figures written to {json_path}")
    return 0


def _lfs_outputs(args: argparse.Namespace) -> tuple[Path, Path | None]:
    """The LF table's CSV (default: beside --json, else lf_table.csv) and the JSON of `lfs`, checked before any
    work: neither is an input, a folder or the other output."""
    from paper_areas.core import UserError, check_output_path

    json_path = Path(args.json) if args.json else None
    csv_path = Path(args.csv) if args.csv else (
        json_path.with_suffix(".lf_table.csv") if json_path else Path("lf_table.csv"))
    inputs = [*args.dumps, args.taxonomy, *([args.gold] if args.gold else [])]
    for output in filter(None, (csv_path, json_path)):
        check_output_path(output, inputs)
    if json_path and csv_path.resolve() == json_path.resolve():
        raise UserError(f"{csv_path}: is both --csv and --json (give them different files)")
    return csv_path, json_path


def run_suggest(args: argparse.Namespace) -> int:
    """Print candidate keywords for one area, from its papers by the votes or those nearest its description."""
    from labeling import TaxonomyError, apply_lfs, covered, keyword_lfs, load_taxonomy, suggest_keywords
    from paper_areas.pipeline.config import LabelModelConfig
    from paper_areas.pipeline.data import read_papers
    from paper_areas.pipeline.weak_labels import Votes, choose_labeler

    taxonomy = load_taxonomy(args.taxonomy)
    if args.area not in taxonomy.slugs:
        raise TaxonomyError(f"--area: no area {args.area!r} in taxonomy {taxonomy.name!r}; "
                            f"slugs: {', '.join(taxonomy.slugs)}")
    lfs = keyword_lfs(taxonomy)
    frame = read_papers(args.dumps)
    votes = apply_lfs(lfs, frame)
    is_covered = covered(votes)
    labeler = choose_labeler(Votes(lfs, votes, None), LabelModelConfig(), taxonomy.names, None).labeler
    suggestions = suggest_keywords(frame, votes, labeler.predict_proba(votes), taxonomy, args.area, top=args.top,
                                   basis=args.basis)
    area = taxonomy.areas[taxonomy.index(args.area)]
    labels = labeler.NAME.replace("_", " ")
    basis = (f"the {labels}'s papers of the area" if suggestions.attrs["basis"] == "votes"
             else "the papers nearest the area's description")
    print(f"candidate keywords for {args.area} ({area.name}) from {basis} (basis: {suggestions.attrs['basis']}); "
          f"{len(frame)} papers, {int((~is_covered).sum())} without votes")
    if len(suggestions):
        print(_fit(suggestions))
    elif suggestions.attrs["basis"] == "votes":
        print(f"no candidates: the {labels} gives this area no papers (try --basis description)")
    else:
        print("no candidates: no paper shares a word with the area's name and description")
    return 0


def _fit(table: pd.DataFrame) -> str:
    """A table as text of at most WIDTH columns (long names truncated)."""
    with pd.option_context("display.width", WIDTH, "display.max_columns", None, "display.max_rows", None,
                           "display.max_colwidth", 40, "display.float_format", "{:.3f}".format):
        return table.to_string(index=False)
