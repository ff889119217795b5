"""Lead scoring: rule scores from the contract, a predictive score, baselines and evaluation."""
