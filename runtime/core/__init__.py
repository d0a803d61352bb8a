"""The RAG and multi-LLM core: pure logic behind small ports, no SDK and no driver."""
