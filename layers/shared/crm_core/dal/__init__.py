"""Data access: one module per aggregate over DynamoDB."""
