import { graphql } from '../gql';

export const AwaitingEvidenceQuery = graphql(`
  query AwaitingEvidence($first: Int!, $filter: AwaitingEvidenceFilter) {
    awaitingEvidence(first: $first, filter: $filter) {
      totalCount
      pageInfo {
        hasNextPage
      }
      edges {
        node {
          id
          number
          orderNumber
          type
          reason
          amountCents
          appliedAt
          evidenceRequest {
            id
            dueAt
            secondsRemaining
          }
        }
      }
    }
  }
`);

export const AfterSaleDetailQuery = graphql(`
  query AfterSaleDetail($id: ID!) {
    afterSale(id: $id) {
      ...AfterSaleRecordFields
      evidenceRequest {
        id
        status
        instructions
        dueAt
        secondsRemaining
      }
    }
  }
`);

export const SubmitEvidenceMutation = graphql(`
  mutation SubmitEvidence($input: SubmitEvidenceInput!) {
    submitEvidence(input: $input) {
      __typename
      ... on SubmitEvidencePayload {
        submission {
          id
        }
      }
      ... on FileRejectedError {
        fileName
        reason
      }
      ...ErrorFields
    }
  }
`);

export const MessagesQuery = graphql(`
  query Messages {
    unreadMessageCount
    messages(first: 30) {
      edges {
        cursor
        node {
          ...MessageFields
        }
      }
    }
  }
`);

export const MessageFields = graphql(`
  fragment MessageFields on Message {
    id
    kind
    title
    body
    createdAt
    readAt
    afterSale {
      id
      number
    }
  }
`);

export const MessageBoxSubscription = graphql(`
  subscription MessageBox($after: String) {
    messageBox(after: $after) {
      cursor
      unreadCount
      message {
        ...MessageFields
      }
    }
  }
`);

export const MarkReadMutation = graphql(`
  mutation MarkMessagesRead($ids: [ID!]!) {
    markMessagesRead(ids: $ids)
  }
`);
