-- Subscriptions own everything; API keys are stored as the SHA-256 of their secret only.
CREATE TABLE subscriptions (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    key_id          text PRIMARY KEY,
    subscription_id uuid NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    secret_hash     text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);

CREATE TABLE projects (
    id                uuid PRIMARY KEY,
    subscription_id   uuid NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    display_name      text NOT NULL,
    description       text NOT NULL DEFAULT '',
    locale            text NOT NULL,
    custom_properties jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_by_subscription ON projects (subscription_id, created_at, id);

CREATE TABLE datasets (
    id                uuid PRIMARY KEY,
    subscription_id   uuid NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    project_id        uuid NOT NULL REFERENCES projects (id) ON DELETE RESTRICT,
    display_name      text NOT NULL,
    description       text NOT NULL DEFAULT '',
    locale            text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('AudioFiles', 'Acoustic', 'Language', 'Pronunciation')),
    status            text NOT NULL CHECK (status IN ('NotStarted', 'Running', 'Succeeded', 'Failed')),
    -- The raw upload, kept in object storage until validation has finished with it.
    upload_key        text,
    upload_size_bytes bigint NOT NULL DEFAULT 0,
    accepted_count    bigint NOT NULL DEFAULT 0,
    rejected_count    bigint NOT NULL DEFAULT 0,
    total_duration_ms bigint NOT NULL DEFAULT 0,
    progress_percent  integer NOT NULL DEFAULT 0,
    error_code        text,
    error_message     text,
    custom_properties jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    last_action_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX datasets_by_project ON datasets (project_id, created_at, id);

CREATE TABLE dataset_files (
    id              uuid PRIMARY KEY,
    dataset_id      uuid NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    name            text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('Audio', 'Text', 'PronunciationLexicon', 'DatasetReport')),
    object_key      text NOT NULL,
    size_bytes      bigint NOT NULL,
    sha256          text NOT NULL,
    duration_ms     bigint,
    sample_rate_hz  integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (dataset_id, kind, name)
);

CREATE TABLE utterances (
    id                    bigserial PRIMARY KEY,
    dataset_id            uuid NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    file_id               uuid NOT NULL REFERENCES dataset_files (id) ON DELETE CASCADE,
    transcript            text NOT NULL,
    normalized_transcript text NOT NULL,
    normalization_version text NOT NULL
);
CREATE INDEX utterances_by_dataset ON utterances (dataset_id, id);
