"""Loading a dataset folder (CSV, XLSX, one workbook, sanding/ documents) into a Dataset."""

from .dataset import load_dataset
from .tables import Dataset, Table

__all__ = ["Dataset", "Table", "load_dataset"]
