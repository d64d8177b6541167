"""nbgrader's check of a notebook's cell metadata, with its JSON schema checked once.

nbgrader's ``CheckCellMetadata`` validates each cell's nbgrader metadata with
``jsonschema.validate``, which first checks the *schema* against jsonschema's meta-schema:
for every cell, twice per graded notebook (before and after execution), the same schema.
That was about a fifth of nbgrader's own time per submission (``benchmarks/stages.py``,
"nbgrader"; a profile of the worker: 2.5 of 12 s of CPU over 5 a1 submissions).
``CheckCellMetadataOnce`` gives the same verdicts and messages: the schema is checked once
per process, and every other rule is nbgrader's own (``MetadataValidatorV3``).
"""
from __future__ import annotations

import traceback

import jsonschema
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import CheckCellMetadata


_VALIDATORS: dict[int, jsonschema.protocols.Validator] = {}   # schema version -> validator


class _SchemaCheckedOnce(BaseMetadataValidator):
    """The base rule (schema version, then the JSON schema) with the schema checked once."""

    def validate_cell(self, cell) -> None:
        meta = cell.metadata.get("nbgrader")
        if meta is None or meta.get("schema_version", 0) != self.schema_version:
            return super().validate_cell(cell)   # nbgrader's own errors (too old, too new)
        validator = _VALIDATORS.get(self.schema_version)
        if validator is None:                    # what jsonschema.validate does every time
            cls = jsonschema.validators.validator_for(self.schema)
            cls.check_schema(self.schema)
            validator = _VALIDATORS[self.schema_version] = cls(self.schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(meta))
        if error is not None:
            raise error


class OnceCheckedMetadataValidator(MetadataValidator, _SchemaCheckedOnce):
    """nbgrader's validator (its MRO puts ``_SchemaCheckedOnce`` under its own rules)."""


class CheckCellMetadataOnce(CheckCellMetadata):
    """nbgrader's CheckCellMetadata with ``OnceCheckedMetadataValidator``: the same log lines
    and error."""

    def preprocess(self, nb, resources):
        try:
            OnceCheckedMetadataValidator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg)
        return nb, resources
