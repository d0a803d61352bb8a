"""Entry point of the `chorus` component provider plugin (``pulumi package add ./infra``)."""

from chorus.components.provider import main

if __name__ == "__main__":
    main()
