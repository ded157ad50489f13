-- Endpoints serve one model each; what a replica needs to load that model (package and
-- lifecycle) is kept here too, so replicas load without asking the trainer.
CREATE TABLE served_models (
    model_id            uuid PRIMARY KEY,
    locale              text NOT NULL,
    package_key         text NOT NULL,
    package_sha256      text NOT NULL,
    transcription_until timestamptz NOT NULL
);

CREATE TABLE endpoints (
    id                uuid PRIMARY KEY,
    subscription_id   uuid NOT NULL,
    project_id        uuid NOT NULL,
    display_name      text NOT NULL,
    description       text NOT NULL DEFAULT '',
    locale            text NOT NULL,
    model_id          uuid NOT NULL REFERENCES served_models (model_id),
    -- Counts model changes; replicas never let an older change replace a newer one.
    revision          bigint NOT NULL DEFAULT 0,
    status            text NOT NULL CHECK (status IN ('NotStarted', 'Running', 'Succeeded', 'Failed')),
    logging_enabled   boolean NOT NULL DEFAULT false,
    custom_properties jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    last_action_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoints_by_project ON endpoints (project_id, created_at, id);

-- Every request to change an endpoint's model, and how it ended.
CREATE TABLE model_changes (
    id           bigserial PRIMARY KEY,
    endpoint_id  uuid NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    model_id     uuid NOT NULL,
    status       text NOT NULL CHECK (status IN ('Running', 'Succeeded', 'Failed')),
    error        text,
    requested_at timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
CREATE INDEX model_changes_by_endpoint ON model_changes (endpoint_id, id DESC);
