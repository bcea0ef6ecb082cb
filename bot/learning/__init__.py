"""The running bot's side of learning: keeping this process's lessons in step with the database."""

from bot.learning.sync import LessonSync, pull_learned

__all__ = ["LessonSync", "pull_learned"]
