"""The administration of users: who may sign in, with which role, in which areas."""
