"""Per-handler wiring of the core to the cloud adapters (the Lambda analogue of
``runtime.local.services``), in small pieces so each function loads only what it runs.

Each module holds one wiring class and the factory its handlers call; nothing is imported here,
so ``import runtime.cloud.wiring.connections`` costs the connections module alone:

============================  ==========================================  ===================
module                        handlers                                    loads at import
============================  ==========================================  ===================
``connections``               ws_authorizer, ws_connect, ws_disconnect    standard library
``messages``                  ws_message                                  + the protocol
``models``                    fanout_model, fanout_agreement              + the scorers
``ingest``                    ingest_worker, reindex_document             + stores, ingestion
``chat``                      chat_worker                                 + retrieval, chat
``evaluation``                evaluate_workspace                          as ``chat``
============================  ==========================================  ===================

``runtime.cloud.services.CloudServices`` composes them all (the REST API and the tests use it).
Adapters and boto3 are imported by the member that builds them, on first use.
"""
