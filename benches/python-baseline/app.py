"""The yardstick of issue 19: a typical async FastAPI + SQLModel + asyncpg implementation of the two
endpoints the load harness drives (SPEC §6), written the way the tutorials write them.

    POST /api/v1/auth/signup   {"email","password"}            -> 201 {"token","user"}
    POST /api/v1/tasks         {"title","description"?,...}    -> 201 Task
    GET  /api/v1/tasks         ?q=&status=&priority=&tags=&sort=&order=&limit=&cursor=
                                                               -> 200 {"items":[Task],"next_cursor"}

It is not part of the product and does less than todo-server does: no outbox, no events, no audit
log, no reminders. The tables are the seed's (tasks, task_tags with a surrogate key, an index on
the owner), keyword search is `ILIKE '%word%'` on title and description, tags come with a
`selectinload`. Served by `uvicorn --workers N` (uvloop and httptools); see benches/versus-python.sh.

Settings: DATABASE_URL (postgresql+asyncpg://...), JWT_SECRET. `python app.py` creates the tables.
"""

import asyncio
import hashlib
import os
import secrets
import uuid
from datetime import datetime, timedelta, timezone
from typing import Literal, Optional

import jwt
from fastapi import Depends, FastAPI, Header, HTTPException, Query
from pydantic import BaseModel, Field as PydanticField
from sqlalchemy import Column, DateTime, case, func, or_
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import selectinload
from sqlmodel import Field, Relationship, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

DATABASE_URL = os.environ["DATABASE_URL"]
JWT_SECRET = os.environ.get("JWT_SECRET", "bench-secret-bench-secret-bench-secret")

engine = create_async_engine(DATABASE_URL, pool_size=16, max_overflow=16)
Session = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def now() -> datetime:
    return datetime.now(timezone.utc)


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(unique=True)
    password_hash: str


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    title: str
    description: str = ""
    status: str = "pending"
    priority: str = "medium"
    due_date: Optional[datetime] = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    timezone: str = "UTC"
    remind_before: Optional[int] = None
    created_at: datetime = Field(default_factory=now, sa_column=Column(DateTime(timezone=True)))
    updated_at: datetime = Field(default_factory=now, sa_column=Column(DateTime(timezone=True)))
    completed_at: Optional[datetime] = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    version: int = 1
    tags: list["TaskTag"] = Relationship(
        back_populates="task", sa_relationship_kwargs={"cascade": "all, delete-orphan"})


class TaskTag(SQLModel, table=True):
    __tablename__ = "task_tags"
    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="tasks.id", index=True, ondelete="CASCADE")
    tag: str
    created_at: datetime = Field(default_factory=now, sa_column=Column(DateTime(timezone=True)))
    task: Optional[Task] = Relationship(back_populates="tags")


class Credentials(BaseModel):
    email: str
    password: str = PydanticField(min_length=8)


class TaskCreate(BaseModel):
    title: str = PydanticField(min_length=1, max_length=500)
    description: str = ""
    priority: Literal["high", "medium", "low"] = "medium"
    tags: list[str] = []
    due_date: Optional[datetime] = None
    timezone: str = "UTC"
    remind_before: Optional[int] = PydanticField(default=None, ge=0)


class TaskRead(BaseModel):
    id: int
    title: str
    description: str
    status: str
    priority: str
    tags: list[str]
    due_date: Optional[datetime]
    timezone: str
    remind_before: Optional[int]
    remind_at: Optional[datetime]
    recurrence: None = None
    series_id: None = None
    created_at: datetime
    updated_at: datetime
    completed_at: Optional[datetime]
    version: int

    @classmethod
    def of(cls, task: Task) -> "TaskRead":
        remind_at = (task.due_date - timedelta(minutes=task.remind_before)
                     if task.due_date and task.remind_before is not None else None)
        return cls(id=task.id, title=task.title, description=task.description, status=task.status,
                   priority=task.priority, tags=sorted(t.tag for t in task.tags),
                   due_date=task.due_date, timezone=task.timezone,
                   remind_before=task.remind_before, remind_at=remind_at,
                   created_at=task.created_at, updated_at=task.updated_at,
                   completed_at=task.completed_at, version=task.version)


class Page(BaseModel):
    items: list[TaskRead]
    next_cursor: Optional[str]


app = FastAPI(title="todo (Python baseline)")


async def create_tables():
    """The schema, made before the workers start (`python app.py`), as a migration step would."""
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)


async def session():
    async with Session() as s:
        yield s


def current_user(authorization: str = Header(default="")) -> uuid.UUID:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "missing bearer token")
    try:
        claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"])
        return uuid.UUID(claims["sub"])
    except (jwt.PyJWTError, KeyError, ValueError) as e:
        raise HTTPException(401, "invalid token") from e


def token_for(user: User) -> str:
    claims = {"sub": str(user.id), "exp": now() + timedelta(days=1)}
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


@app.post("/api/v1/auth/signup", status_code=201)
async def signup(body: Credentials, db: AsyncSession = Depends(session)):
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(body.password.encode(), salt=salt, n=2**14, r=8, p=1)
    user = User(email=body.email.lower(), password_hash=salt.hex() + ":" + digest.hex())
    db.add(user)
    await db.commit()
    return {"token": token_for(user), "user": {"id": str(user.id), "email": user.email}}


@app.post("/api/v1/tasks", status_code=201, response_model=TaskRead)
async def create_task(body: TaskCreate, user_id: uuid.UUID = Depends(current_user),
                      db: AsyncSession = Depends(session)):
    task = Task(user_id=user_id, title=body.title, description=body.description,
                priority=body.priority, due_date=body.due_date, timezone=body.timezone,
                remind_before=body.remind_before,
                tags=[TaskTag(tag=t) for t in dict.fromkeys(body.tags)])
    db.add(task)
    await db.commit()
    await db.refresh(task, ["tags"])
    return TaskRead.of(task)


PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}


@app.get("/api/v1/tasks", response_model=Page)
async def list_tasks(q: str = "", status: Literal["pending", "completed", "all"] = "all",
                     priority: str = "", tags: str = "",
                     sort: Literal["due_date", "priority", "created_at", "title"] = "created_at",
                     order: Literal["asc", "desc"] = "asc", limit: int = Query(50, ge=1, le=200),
                     cursor: int = Query(0, ge=0),
                     user_id: uuid.UUID = Depends(current_user),
                     db: AsyncSession = Depends(session)):
    query = select(Task).where(Task.user_id == user_id).options(selectinload(Task.tags))
    for word in q.split():
        pattern = f"%{word}%"
        query = query.where(or_(Task.title.ilike(pattern), Task.description.ilike(pattern)))
    if status != "all":
        query = query.where(Task.status == status)
    if priority:
        wanted = priority.split(",")
        if not set(wanted) <= PRIORITY_RANK.keys():
            raise HTTPException(400, "priority: high, medium or low")
        query = query.where(Task.priority.in_(wanted))
    if tags:
        query = query.where(Task.tags.any(TaskTag.tag.in_(tags.split(","))))
    key = {
        "due_date": Task.due_date,
        "priority": case(PRIORITY_RANK, value=Task.priority),
        "created_at": Task.created_at,
        "title": func.lower(Task.title),
    }[sort]
    key = key.asc().nulls_last() if order == "asc" else key.desc().nulls_last()
    query = query.order_by(key, Task.id).offset(cursor).limit(limit + 1)
    rows = (await db.exec(query)).all()
    more = len(rows) > limit
    return Page(items=[TaskRead.of(t) for t in rows[:limit]],
                next_cursor=str(cursor + limit) if more else None)


if __name__ == "__main__":
    asyncio.run(create_tables())
