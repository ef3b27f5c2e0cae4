"""ODRL 2.2 policy engine: model, parsing, evaluation with explanations, negotiation comparison. Pure library."""
