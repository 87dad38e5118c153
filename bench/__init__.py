"""`make bench`: how far one machine goes and how cost grows with load, measured against
Temporal's own ceiling. See bench/README.md."""
