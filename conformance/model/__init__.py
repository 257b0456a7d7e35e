"""An executable model of the contract's core: the oracle of the model-based phase.

Pure Python, no I/O: `Model` (operations.py) holds orders, shipments and stock per SKU and
warehouse (state.py) and, for each operation, says what the target must answer and what changes.
conformance/checks/test_model_based.py drives the target and this model side by side.
"""

from conformance.model.operations import Expected, Model
from conformance.model.state import Line, Order, Shipment, Stock

__all__ = ["Expected", "Line", "Model", "Order", "Shipment", "Stock"]
