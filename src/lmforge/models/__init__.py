"""Models: Llama-architecture configs sized for a CPU, and loading/saving plain HF directories."""
