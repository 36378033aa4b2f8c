"""The catalog benchmark (`make bench-catalog`): seed 100,000 models, measure search and model
pages through the gateway at 8 concurrent clients, record the query plans. See bench/README.md."""
