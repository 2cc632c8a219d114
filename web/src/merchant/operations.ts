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
      id
      number
      orderNumber
      type
      reason
      buyerClaim
      amountCents
      status
      appliedAt
      evidenceRequest {
        id
        status
        instructions
        dueAt
        secondsRemaining
      }
      evidenceRequests {
        id
        status
        instructions
        requestedAt
        dueAt
        submission {
          id
          explanation
          submittedAt
          files {
            id
            fileName
            contentType
            byteSize
            url
          }
        }
      }
      resolution {
        outcome
        decidedBy
        decidedAt
        opinion
      }
      logs(first: 100) {
        edges {
          node {
            id
            at
            actor
            action
            summary
          }
        }
      }
    }
  }
`);

export const LogAddedSubscription = graphql(`
  subscription AfterSaleLogAdded($afterSaleId: ID!) {
    afterSaleLogAdded(afterSaleId: $afterSaleId) {
      id
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
      ... on InvalidInputError {
        field
      }
      ... on Error {
        message
      }
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
