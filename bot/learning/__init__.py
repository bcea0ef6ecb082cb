"""The running bot's side of learning: keeping this process's lessons in step with the database."""

from bot.learning.sync import LessonSync

__all__ = ["LessonSync"]
