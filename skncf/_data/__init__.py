"""The data stage: ids to codes, and the seen pairs negatives are drawn against."""
