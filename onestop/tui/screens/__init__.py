"""Full screens (``*Screen``) and dialogs (``*Modal``) of the desk."""
