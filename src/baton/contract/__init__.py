"""The alignment contract (``baton.toml``): model, loading and checking."""

from baton.contract.load import default_contract_text, digest, load_contract, parse_contract
from baton.contract.model import Contract, PipelineStage, Stage, StageKind

__all__ = [
    "Contract",
    "PipelineStage",
    "Stage",
    "StageKind",
    "default_contract_text",
    "digest",
    "load_contract",
    "parse_contract",
]
